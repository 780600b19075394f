import { Hono } from 'hono'
import { streamSSE } from 'hono/streaming'
import { sql } from 'drizzle-orm'
import {
  isPausedRun,
  startSyncRequest,
  streamParams,
  syncRunsQuery,
  type SyncProgressEvent,
  type SyncRun,
  type SyncRunsResponse,
  type StageHistoryProgress,
  type SyncStatusResponse,
} from '#shared/contracts/sync'
import { requireRole, requireViewer } from '../auth/middleware'
import { query, type Db } from '../db/client'
import { AppError, badRequest, notFound } from '../http/errors'
import type { AppEnv } from '../http/types'
import { DEFAULTS } from '../sync/checkpoint'
import { historyRefused, historyToRead } from '../sync/history'
import { runSteps } from '../sync/run'
import type { SyncContext } from '../sync/session'
import { startSync } from '../sync/start'
import { releaseLease } from '../sync/lease'
import { audit } from '../auth/audit'
import { clientIp } from '../auth/security'
import { callsInLastHour, recentZohoCalls } from '../zoho/call-minutes'

/** Sync runs: "sync now", live progress (SSE polling the run row, so it works across isolates), history. */

interface RunRow {
  id: string
  org_id: string
  kind: SyncRun['kind']
  trigger: string
  status: SyncRun['status']
  phase: string
  started_at: string
  finished_at: string | null
  elapsed: number
  pages: number
  records: number
  records_read: number
  deletions: number
  api_calls: number
  history_calls: number
  credits_remaining: number | null
  error: string | null
  checkpoint: { firstModified?: string | null; maxModified?: string | null } | string
}

const RUN_COLUMNS = sql`id, org_id, kind, trigger, status, phase, started_at, finished_at,
  extract(epoch from coalesce(finished_at, now()) - started_at)::float8 as elapsed, pages, records, records_read, deletions,
  api_calls, history_calls, credits_remaining, error, checkpoint`

const isoOf = (v: string | Date | null) => (v === null ? null : new Date(v).toISOString())

function toRun(r: RunRow): SyncRun {
  return {
    id: r.id,
    kind: r.kind,
    trigger: r.trigger,
    status: r.status,
    phase: r.phase,
    startedAt: isoOf(r.started_at)!,
    finishedAt: isoOf(r.finished_at),
    durationSeconds: r.finished_at ? Math.round(Number(r.elapsed) * 10) / 10 : null,
    pages: r.pages,
    read: r.records_read,
    records: r.records,
    deletions: r.deletions,
    apiCalls: r.api_calls,
    historyCalls: r.history_calls,
    creditsRemaining: r.credits_remaining,
    error: r.error,
  }
}

/**
 * Rate and time left. Deals arrive in Modified_Time order, so the share of the time range between
 * the first record and the run's start already read estimates the share of records read.
 */
export function progressOf(r: RunRow): SyncProgressEvent {
  const elapsed = Math.max(0.001, Number(r.elapsed))
  // Deals read, changed or not: a re-sync of an org already stored changes few of them.
  const rate = r.records_read / elapsed
  let left: number | null = null
  const cp =
    typeof r.checkpoint === 'string'
      ? (JSON.parse(r.checkpoint) as Exclude<RunRow['checkpoint'], string>)
      : r.checkpoint
  if (r.status === 'running' && r.phase === 'deals' && cp.firstModified && cp.maxModified && rate > 0) {
    const first = new Date(cp.firstModified).getTime()
    const span = new Date(r.started_at).getTime() - first
    const done = new Date(cp.maxModified).getTime() - first
    if (span > 0 && done > 0) {
      const total = r.records_read / Math.min(1, done / span)
      left = Math.max(0, Math.round((total - r.records_read) / rate))
    }
  } else if (r.status !== 'running' && r.status !== 'queued') left = 0
  return {
    runId: r.id,
    status: r.status,
    phase: r.phase,
    pages: r.pages,
    read: r.records_read,
    records: r.records,
    deletions: r.deletions,
    apiCalls: r.api_calls,
    ratePerSecond: Math.round(rate * 10) / 10,
    estimatedSecondsLeft: left,
    error: r.error,
  }
}

async function loadRun(db: Db, orgId: string, runId: string): Promise<RunRow | undefined> {
  const [r] = await query<RunRow>(
    db,
    sql`select ${RUN_COLUMNS} from sync_runs where id = ${runId} and org_id = ${orgId}`,
  )
  return r
}

const POLL_MS = 1000
const HEARTBEAT_MS = 15_000
/** A stream ends after this long; EventSource reconnects and resumes. */
const MAX_STREAM_MS = 10 * 60_000

export const sync = new Hono<AppEnv>()
  .post('/sync', requireViewer, requireRole('manager', 'admin'), async (c) => {
    const text = await c.req.text()
    let json: unknown = {}
    try {
      if (text.trim()) json = JSON.parse(text)
    } catch {
      throw badRequest('The body must be JSON')
    }
    const body = startSyncRequest.parse(json)
    const viewer = c.var.viewer
    const deps = c.var.deps
    const [conn] = await query(
      c.var.db,
      sql`select 1 from zoho_connections where org_id = ${viewer.orgId} and status = 'active'`,
    )
    if (!conn)
      throw new AppError(
        409,
        'NOT_CONNECTED',
        'Zoho is not connected for this org; an admin connects it first',
      )
    const ctx: SyncContext = {
      config: deps.config,
      db: c.var.db,
      logger: deps.logger,
      fetch: deps.fetch,
      zohoHttp: deps.zohoHttp,
      now: deps.now,
    }
    const started = await startSync(ctx, viewer.orgId, {
      trigger: 'manual',
      kind: body.kind,
      startedBy: viewer.userId,
    })
    if (!started) throw new AppError(409, 'SYNC_RUNNING', 'A sync of this org is already running')
    await audit(c.var.db, {
      orgId: viewer.orgId,
      actorUserId: viewer.userId,
      action: 'sync.start',
      target: started.runId,
      details: { kind: body.kind ?? 'auto' },
      ip: clientIp(c),
    })
    if (deps.startSyncWorkflow) {
      // The Workflow's first step takes the lease again and resumes this run from its checkpoint.
      await releaseLease(c.var.db, viewer.orgId, started.holder)
      await deps.startSyncWorkflow(c, viewer.orgId)
    } else deps.background(runSteps(ctx, started.runId, started.holder), c)
    return c.json({ runId: started.runId }, 202)
  })

  .get('/sync/runs', requireViewer, requireRole('manager', 'admin'), async (c) => {
    const { limit } = syncRunsQuery.parse(c.req.query())
    const rows = await query<RunRow>(
      c.var.db,
      sql`select ${RUN_COLUMNS} from sync_runs where org_id = ${c.var.viewer.orgId}
          order by started_at desc limit ${limit}`,
    )
    return c.json({ runs: rows.map(toRun) } satisfies SyncRunsResponse)
  })

  .get('/sync/status', requireViewer, async (c) => {
    const orgId = c.var.viewer.orgId
    const [state] = await query<{ last_success_at: string | null }>(
      c.var.db,
      sql`select last_success_at from sync_state where org_id = ${orgId}`,
    )
    const [running] = await query<{ id: string }>(
      c.var.db,
      sql`select r.id from sync_runs r join sync_state s on s.org_id = r.org_id
          where r.org_id = ${orgId} and r.status = 'running' and s.lease_owner is not null and s.lease_expires_at > now()
          order by r.started_at desc limit 1`,
    )
    const recent = await recentZohoCalls(c.var.db, orgId)
    return c.json({
      lastSuccessAt: isoOf(state?.last_success_at ?? null),
      runningRunId: running?.id ?? null,
      zohoCalls: {
        lastHour: callsInLastHour(recent, Date.now()),
        perHour: c.var.deps.config.API_RATE_LIMIT_PER_HOUR,
      },
    } satisfies SyncStatusResponse)
  })

  // A count over the org's deals: asked by the Sync page only, not by the badge's status.
  .get('/sync/stage-history', requireViewer, requireRole('manager', 'admin'), async (c) => {
    const orgId = c.var.viewer.orgId
    const [r] = await query<{ read: number; to_read: number; refused: boolean }>(
      c.var.db,
      sql`select count(history_backfilled_at)::int as read,
                 count(*) filter (where ${historyToRead('deals')})::int as to_read,
                 ${historyRefused(orgId)} as refused
          from deals where org_id = ${orgId}`,
    )
    return c.json({
      read: r?.read ?? 0,
      toRead: r?.to_read ?? 0,
      perSync: DEFAULTS.historyBudget,
      unavailable: r?.refused ?? false,
    } satisfies StageHistoryProgress)
  })

  .get('/sync/stream/:runId', requireViewer, requireRole('manager', 'admin'), async (c) => {
    const { runId } = streamParams.parse(c.req.param())
    const orgId = c.var.viewer.orgId
    const db = c.var.db
    if (!(await loadRun(db, orgId, runId))) throw notFound('No such sync run')
    return streamSSE(c, async (stream) => {
      const started = Date.now()
      let lastBeat = Date.now()
      let last = ''
      let seq = 0
      while (!stream.aborted && Date.now() - started < MAX_STREAM_MS) {
        const r = await loadRun(db, orgId, runId)
        if (!r) break
        const p = progressOf(r)
        const data = JSON.stringify(p)
        // A paused run waits for a later invocation; the stream ends there, as "Sync now" opens a new one.
        const final = r.status === 'succeeded' || r.status === 'failed' || isPausedRun(r)
        if (data !== last || final) {
          last = data
          await stream.writeSSE({
            event: r.status === 'succeeded' ? 'done' : r.status === 'failed' ? 'error' : 'progress',
            data,
            id: String(++seq),
          })
          lastBeat = Date.now()
        }
        if (final) break
        if (Date.now() - lastBeat >= HEARTBEAT_MS) {
          await stream.write(': heartbeat\n\n')
          lastBeat = Date.now()
        }
        await stream.sleep(POLL_MS)
      }
    })
  })
