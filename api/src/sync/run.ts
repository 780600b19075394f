import { sql, type SQL } from 'drizzle-orm'
import { query, sqlState, type Db } from '../db/client'
import { markRollupsBehind } from '../analytics/rollup'
import { ZohoApiError, ZohoBudgetError, ZohoNetworkError, ZohoRateLimitError } from '../zoho/errors'
import type { ZohoClient } from '../zoho/types'
import { DEFAULTS, type SyncKind } from './checkpoint'
import { syncStep } from './engine'
import { flushHeld } from './held-pages'
import { LeaseLostError, releaseLease } from './lease'
import { settlePending } from './pages'
import { SyncSession, type SyncContext } from './session'
import { startSync, type StartOptions } from './start'

/*
 * Driving runs: runSteps runs a run's steps under a page/time budget, pausing it when Zoho calls
 * run out and retrying transient failures; runOrgSync starts and drives one org's sync, syncAllOrgs
 * every connected org's (the cron, CLI and start-up entry points).
 */

export interface Budget {
  /** Steps (≈ pages) this invocation may run before stopping at a checkpoint. */
  maxPages?: number
  /** Wall-clock budget of this invocation. */
  timeBudgetMs?: number
  signal?: AbortSignal
  leaseSeconds?: number
}

/**
 * SET clauses adding the Zoho calls made since the last commit (the refused ones too) and the
 * credits left, for a run that ends without committing them: every call counts against the budget.
 */
function uncountedCalls(s: SyncSession): SQL {
  const calls = s.client ? s.client.stats.calls - s.countedCalls : 0
  return sql`api_calls = api_calls + ${calls},
    credits_remaining = coalesce(${s.client?.stats.creditsRemaining ?? null}::int, credits_remaining)`
}

/** PostgreSQL's deadlock and serialization failures: the statement can simply run again. */
const RETRYABLE_SQLSTATES = new Set(['40P01', '40001'])

/**
 * Why a failed step should pause the run rather than fail it, or null: our hourly call budget (or
 * Zoho's token-refresh limit) is spent, or Zoho answers 429 with its 24-hour credits at zero, or
 * keeps answering 429 through the client's retries (credits or concurrency: a 429 does not say).
 * Retrying within minutes would only burn calls; the credits come back over hours.
 */
export function pauseReason(e: unknown, client: ZohoClient | undefined): string | null {
  if (e instanceof ZohoBudgetError) {
    const at = new Date(Date.now() + e.retryAfterMs).toISOString().slice(11, 16)
    return `Paused: ${e.message}. The sync continues from its checkpoint on a run after ${at} UTC.`
  }
  if (e instanceof ZohoApiError && e.status === 429 && client?.stats.creditsRemaining === 0)
    return (
      "Paused: Zoho's API credits for the last 24 hours are used up (429, X-API-CREDITS-REMAINING 0). " +
      'The sync continues from its checkpoint on a later run, as credits come back.'
    )
  if (e instanceof ZohoRateLimitError)
    return `Paused: ${e.message}; Zoho's credits or concurrency limit are spent for now. The sync continues from its checkpoint on a later run.`
  return null
}

const TRANSIENT = (e: unknown) =>
  e instanceof ZohoNetworkError ||
  (e instanceof ZohoApiError && (e.status === 429 || e.status >= 500)) ||
  RETRYABLE_SQLSTATES.has(sqlState(e) as string)

export interface RunOutcome {
  runId: string
  status: 'succeeded' | 'failed' | 'stopped' | 'lost'
  error?: string
}

/** Why an ids (Watch) run ended unfinished: never resumed, its deals reach the next incremental. */
export const IDS_RUN_CUT_SHORT =
  'Stopped at its time budget; the next incremental sync reads the deals it did not'

/**
 * Drives a run's steps until it finishes or the budget is spent (then it stops at a checkpoint and
 * frees the lease, so the next invocation continues at once). Zoho calls running out (pauseReason)
 * stop it the same way, with the reason in the run's `error`. Transient Zoho failures that outlast
 * the client's own retries retry the step (idempotent: nothing was committed); anything else fails
 * the run, whose checkpoint the next run continues from.
 */
export async function runSteps(
  ctx: SyncContext,
  runId: string,
  holder: string,
  budget: Budget = {},
): Promise<RunOutcome> {
  const s = new SyncSession()
  const leaseSeconds = budget.leaseSeconds ?? DEFAULTS.leaseSeconds
  const started = Date.now()
  const [r] = await query<{ org_id: string; kind: SyncKind }>(
    ctx.db,
    sql`select org_id, kind from sync_runs where id = ${runId}`,
  )
  const orgId = r!.org_id
  let steps = 0
  let failures = 0
  /** A run ending short of finalize (which refreshes them) leaves the rollups behind what it wrote. */
  const rollupsBehindIfWritten = async () => {
    const [w] = await query<{ wrote: boolean }>(
      ctx.db,
      sql`select records > 0 or deletions > 0 as wrote from sync_runs where id = ${runId}`,
    )
    if (w?.wrote) await markRollupsBehind(ctx.db, orgId)
  }
  /**
   * Ends this session at a checkpoint: a last page still committing goes in, and any held back
   * (or not: the next invocation reads them again); the lease is freed and the run stays open, so
   * the next invocation continues it.
   */
  const stop = async (): Promise<RunOutcome> => {
    const run = s.run
    const lost = await (
      run ? flushHeld(ctx, s, run, run.checkpoint, holder, leaseSeconds) : Promise.resolve()
    )
      .then(() => settlePending(s))
      .then(
        () => undefined,
        (e: unknown) => (e instanceof LeaseLostError ? e : undefined),
      )
    if (lost) return { runId, status: 'lost', error: lost.message }
    if (r!.kind === 'ids')
      await ctx.db.execute(sql`update sync_runs set status = 'failed', phase = 'failed', finished_at = now(),
        error = ${IDS_RUN_CUT_SHORT}, ${uncountedCalls(s)} where id = ${runId}`)
    await releaseLease(ctx.db, orgId, holder)
    await rollupsBehindIfWritten()
    return r!.kind === 'ids'
      ? { runId, status: 'failed', error: IDS_RUN_CUT_SHORT }
      : { runId, status: 'stopped' }
  }
  for (;;) {
    if (
      budget.signal?.aborted ||
      (budget.maxPages !== undefined && steps >= budget.maxPages) ||
      (budget.timeBudgetMs !== undefined && Date.now() - started >= budget.timeBudgetMs)
    )
      return stop()
    // Prefetch only when another step will surely follow in this session.
    s.prefetch = budget.maxPages === undefined || steps + 1 < budget.maxPages
    // The run as of the pages held back: a failed step forgets it, a pause still commits them.
    const before = s.run
    try {
      const res = await syncStep(ctx, runId, holder, s, leaseSeconds)
      steps++
      failures = 0
      if (res.done) return { runId, status: 'succeeded' }
    } catch (e) {
      // An ids run (Watch) is never resumed, so it fails instead: the next incremental reads its deals.
      const paused = r!.kind === 'ids' ? null : pauseReason(e, s.client)
      if (paused) {
        // Out of Zoho calls for now: what was read goes in, and the run waits, open, for a later
        // invocation (the cron's next, or "sync now") instead of failing every time.
        ctx.logger.warn('sync paused', { runId, orgId, reason: paused })
        s.run ??= before
        const outcome = await stop()
        if (outcome.status === 'stopped')
          await ctx.db.execute(
            sql`update sync_runs set error = ${paused}, ${uncountedCalls(s)} where id = ${runId}`,
          )
        return { ...outcome, error: paused }
      }
      // Nothing may still be writing once this run is retried, failed or given up.
      await settlePending(s).catch(() => {})
      s.run = undefined
      if (e instanceof LeaseLostError) return { runId, status: 'lost', error: e.message }
      if (TRANSIENT(e) && failures < ctx.config.SYNC_MAX_RETRIES) {
        failures++
        ctx.logger.warn('sync step failed; retrying', { runId, attempt: failures, err: (e as Error).message })
        await new Promise((res) => setTimeout(res, 250 * 2 ** failures))
        continue
      }
      const message = e instanceof Error ? e.message : String(e)
      ctx.logger.error('sync failed', { runId, orgId, err: e })
      await ctx.db.execute(sql`
        update sync_runs set status = 'failed', phase = 'failed', error = ${message.slice(0, 1000)},
          finished_at = now(), checkpoint = jsonb_set(checkpoint, '{resumable}', 'true'::jsonb),
          ${uncountedCalls(s)}
        where id = ${runId}`)
      await releaseLease(ctx.db, orgId, holder)
      await rollupsBehindIfWritten()
      return { runId, status: 'failed', error: message }
    }
  }
}

export interface OrgSyncSummary {
  orgId: string
  runId: string | null
  status: RunOutcome['status'] | 'busy'
  kind?: SyncKind
  pages?: number
  /** Deals read from Zoho, changed or not (records: those new or changed). */
  read?: number
  records?: number
  deletions?: number
  apiCalls?: number
  historyCalls?: number
  error?: string
}

/** Start (or resume) and drive one org's sync: the cron, CLI and start-up entry point. */
export async function runOrgSync(
  ctx: SyncContext,
  orgId: string,
  opts: StartOptions & Budget,
): Promise<OrgSyncSummary> {
  const started = await startSync(ctx, orgId, opts)
  if (!started) return { orgId, runId: null, status: 'busy' }
  const outcome = await runSteps(ctx, started.runId, started.holder, opts)
  const [run] = await query<{
    kind: SyncKind
    pages: number
    read: number
    records: number
    deletions: number
    api_calls: number
    history_calls: number
  }>(
    ctx.db,
    sql`select kind, pages, records_read as read, records, deletions, api_calls, history_calls
        from sync_runs where id = ${started.runId}`,
  )
  return {
    orgId,
    runId: started.runId,
    status: outcome.status,
    kind: run?.kind,
    pages: run?.pages,
    read: run?.read,
    records: run?.records,
    deletions: run?.deletions,
    apiCalls: run?.api_calls,
    historyCalls: run?.history_calls,
    error: outcome.error,
  }
}

/** Orgs with a usable Zoho connection. */
export async function connectedOrgs(db: Db): Promise<string[]> {
  const rows = await query<{ org_id: string }>(
    db,
    sql`select org_id from zoho_connections where status = 'active' order by org_id`,
  )
  return rows.map((r) => r.org_id)
}

/** Every connected org, one after another (incremental; full when never synced). */
export async function syncAllOrgs(ctx: SyncContext, opts: StartOptions & Budget): Promise<OrgSyncSummary[]> {
  const out: OrgSyncSummary[] = []
  for (const orgId of await connectedOrgs(ctx.db)) {
    try {
      out.push(await runOrgSync(ctx, orgId, opts))
    } catch (e) {
      ctx.logger.error('org sync could not start', { orgId, err: e })
      out.push({ orgId, runId: null, status: 'failed', error: e instanceof Error ? e.message : String(e) })
    }
  }
  return out
}
