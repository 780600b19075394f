import { Hono } from 'hono'
import { sql } from 'drizzle-orm'
import { zohoNotification } from '#shared/contracts/sync'
import { query } from '../db/client'
import { safeEqual } from '../auth/crypto'
import { badRequest, forbidden } from '../http/errors'
import type { AppEnv } from '../http/types'
import { runSteps } from '../sync/run'
import type { SyncContext } from '../sync/session'
import { startSync } from '../sync/start'

/**
 * Zoho Watch API callbacks. Zoho signs nothing: the per-channel token it echoes is compared, in
 * constant time, with the one stored in watch_channels. Callbacks are hints: the named deals are
 * re-fetched (GET /Deals?ids=) by an 'ids' run, deletions included: the run removes a named deal only
 * when Zoho no longer returns it, never on the callback's word. Only a channel that has not expired
 * is accepted. If a sync of the org is running, the ids are left to the next incremental run, which
 * reads them by Modified_Time (and deletions from /Deals/deleted) anyway.
 */

/** A Watch run's time budget: well inside the 30 s Workers give waitUntil work after a response. */
const WATCH_RUN_MS = 20_000

export const zohoNotify = new Hono<AppEnv>().post('/zoho/notify', async (c) => {
  let json: unknown
  try {
    json = await c.req.json()
  } catch {
    throw badRequest('The body must be JSON')
  }
  const body = zohoNotification.parse(json)
  const deps = c.var.deps
  const [channel] = await query<{ org_id: string; token: string }>(
    c.var.db,
    sql`select org_id, token from watch_channels where channel_id = ${body.channel_id}
          and expires_at > ${deps.now().toISOString()}::timestamptz`,
  )
  // Same work whether or not the channel exists, so a caller cannot probe channel ids by timing.
  const ok = await safeEqual(body.token ?? '', channel?.token ?? '\u0000no-channel')
  if (!channel || !ok || !body.token)
    throw forbidden('Unknown channel or wrong token', 'INVALID_CHANNEL_TOKEN')
  if (body.module && body.module !== 'Deals') return c.json({ accepted: false, reason: 'module' }, 202)

  const orgId = channel.org_id
  const ids = body.ids.filter((id) => /^\d{1,30}$/.test(id))
  if (!ids.length) return c.json({ accepted: true, ids: 0 }, 202)
  const ctx: SyncContext = {
    config: deps.config,
    db: c.var.db,
    logger: deps.logger,
    fetch: deps.fetch,
    zohoHttp: deps.zohoHttp,
    now: deps.now,
  }
  const started = await startSync(ctx, orgId, { trigger: 'watch', ids })
  // After the 202, within a time budget: Workers stop waitUntil work 30 s after the response. A run
  // cut short ends there (never resumed); the next incremental reads the deals it did not.
  if (started)
    deps.background(runSteps(ctx, started.runId, started.holder, { timeBudgetMs: WATCH_RUN_MS }), c)
  else deps.logger.info('watch: sync running; ids left to the next incremental', { orgId, ids: ids.length })
  return c.json({ accepted: true, ids: ids.length, runId: started?.runId ?? null }, 202)
})
