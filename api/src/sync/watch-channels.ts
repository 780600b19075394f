import { sql } from 'drizzle-orm'
import { query } from '../db/client'
import type { JobContext } from '../jobs'
import { clientForOrg } from '../zoho/client'
import { ZohoApiError } from '../zoho/errors'
import { trimBase } from '../zoho/oauth'
import { enableWatch } from '../zoho/watch'
import { recordZohoCalls } from '../zoho/call-minutes'

/**
 * Keeps one live Zoho Watch channel per connected org, so Zoho POSTs a callback to
 * `${PUBLIC_URL}/api/v1/zoho/notify` on every Deals change (routes/zoho-notify.ts re-fetches the
 * named deals). Called by the scheduled sync job after each org's sync. Without PUBLIC_URL (Node demo
 * and local installs Zoho cannot reach) nothing happens: the 15-minute incremental poll keeps data
 * fresh, as it also does for anything a callback misses.
 *
 * Channels live at most a week (Zoho's cap), so one expiring within 2 days is renewed by a PUT with
 * a new expiry (same id and token, no gap); one Zoho no longer knows is replaced by a new channel.
 * A connection without a ZohoCRM.notifications scope is left alone: Zoho would answer
 * OAUTH_SCOPE_MISMATCH, and the client marks a connection broken on that.
 * Known limit: a changed PUBLIC_URL reaches Zoho at the next renewal (the table keeps no notify_url).
 */

const DAY_MS = 86_400_000
/** Zoho's maximum lifetime, less a margin for clock skew (past a week Zoho silently uses 1 hour). */
export const WATCH_CHANNEL_TTL_MS = 7 * DAY_MS - 10 * 60_000
/** A channel expiring sooner than this is renewed. */
export const WATCH_RENEW_WITHIN_MS = 2 * DAY_MS
export const NOTIFY_PATH = '/api/v1/zoho/notify'

export type WatchOutcome =
  | { status: 'disabled' }
  | { status: 'no_scope' }
  | { status: 'live' | 'created' | 'renewed'; channelId: string; expiresAt: Date }
  | { status: 'failed'; error: string }

/** The URL Zoho calls back for this deployment, or null without PUBLIC_URL. */
export function notifyUrl(publicUrl: string | undefined): string | null {
  return publicUrl ? `${trimBase(publicUrl)}${NOTIFY_PATH}` : null
}

/** What the stored scopes allow with notifications (Zoho separates scopes by commas or spaces). */
export function watchScopes(scopes: string | null): { create: boolean; update: boolean } {
  const granted = new Set((scopes ?? '').toLowerCase().split(/[\s,]+/))
  const has = (op: string) => ['all', 'write', op].some((s) => granted.has(`zohocrm.notifications.${s}`))
  return { create: has('create'), update: has('update') }
}

const randomHex = (bytes: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('')

/**
 * A random 16-digit channel id, below 2^53: Zoho reads it as a long, and should a callback echo it
 * as a JSON number it still round-trips exactly.
 */
export function newChannelId(): string {
  const [hi, lo] = crypto.getRandomValues(new Uint32Array(2))
  const n = (hi! & 0x1fffff) * 2 ** 32 + lo! // 53 random bits
  return String(1e15 + (n % 8e15))
}

/** A 48-character per-channel secret (Zoho's limit is 50). */
export const newChannelToken = () => randomHex(24)

/**
 * Makes sure the org has a live Watch channel (see above). Never throws: a failure is logged and
 * answered as 'failed', so the sync job is never failed by it.
 */
export async function ensureWatchChannel(ctx: JobContext, orgId: string): Promise<WatchOutcome> {
  const url = notifyUrl(ctx.config.PUBLIC_URL)
  if (!url) return { status: 'disabled' }
  try {
    const out = await ensure(ctx, orgId, url)
    if (out.status === 'created' || out.status === 'renewed')
      ctx.logger.info(`watch channel ${out.status}`, {
        orgId,
        channelId: out.channelId,
        expiresAt: out.expiresAt,
      })
    return out
  } catch (err) {
    ctx.logger.warn('watch channel not ensured', { orgId, err })
    return { status: 'failed', error: err instanceof Error ? err.message : String(err) }
  }
}

async function ensure(ctx: JobContext, orgId: string, url: string): Promise<WatchOutcome> {
  const now = ctx.now()
  // Zoho has dropped expired channels: their tokens must stop being accepted too.
  await query(
    ctx.db,
    sql`delete from watch_channels where org_id = ${orgId} and expires_at <= ${now.toISOString()}::timestamptz`,
  )
  const [current] = await query<{ channel_id: string; token: string; expires_at: string }>(
    ctx.db,
    sql`select channel_id, token,
          to_char(expires_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as expires_at from watch_channels
        where org_id = ${orgId} order by expires_at desc limit 1`,
  )
  const currentExpiry = current ? new Date(current.expires_at) : null
  if (current && currentExpiry!.getTime() - now.getTime() > WATCH_RENEW_WITHIN_MS)
    return { status: 'live', channelId: current.channel_id, expiresAt: currentExpiry! }

  const [conn] = await query<{ scopes: string | null }>(
    ctx.db,
    sql`select scopes from zoho_connections where org_id = ${orgId}`,
  )
  const can = watchScopes(conn?.scopes ?? null)
  if (!can.create && !(current && can.update)) {
    ctx.logger.info('watch skipped: the Zoho connection lacks a ZohoCRM.notifications scope', { orgId })
    return { status: 'no_scope' }
  }
  const client = await clientForOrg(ctx.db, ctx.config, orgId, ctx.fetch, {
    logger: ctx.logger,
    http: ctx.zohoHttp,
  })
  // The calls this makes count in the org's hourly budget like a sync's (recordZohoCalls).
  try {
    const expiry = new Date(now.getTime() + WATCH_CHANNEL_TTL_MS)

    if (current && can.update) {
      try {
        const renewed = await enableWatch(
          client,
          { channelId: current.channel_id, notifyUrl: url, token: current.token, expiry },
          { replace: true },
        )
        await query(
          ctx.db,
          sql`update watch_channels set expires_at = ${renewed.expiresAt.toISOString()}::timestamptz
              where channel_id = ${current.channel_id}`,
        )
        return { status: 'renewed', ...renewed }
      } catch (err) {
        // 400: Zoho no longer knows the channel (INVALID_DATA): retire it and subscribe a new one.
        if (!(err instanceof ZohoApiError) || err.status !== 400) throw err
        ctx.logger.warn('watch channel renewal refused; subscribing a new one', { orgId, code: err.code })
        await query(ctx.db, sql`delete from watch_channels where channel_id = ${current.channel_id}`)
        if (!can.create) return { status: 'no_scope' }
      }
    }

    const token = newChannelToken()
    const created = await enableWatch(client, { channelId: newChannelId(), notifyUrl: url, token, expiry })
    await query(
      ctx.db,
      sql`insert into watch_channels (channel_id, org_id, token, expires_at)
          values (${created.channelId}, ${orgId}, ${token}, ${created.expiresAt.toISOString()}::timestamptz)
          on conflict (channel_id) do update set org_id = excluded.org_id, token = excluded.token,
            expires_at = excluded.expires_at`,
    )
    return { status: 'created', ...created }
  } finally {
    await recordZohoCalls(ctx.db, orgId, client.stats.calls)
  }
}
