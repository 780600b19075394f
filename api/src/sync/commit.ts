import { sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client'
import type { RollupMonths } from '../analytics/rollup'
import type { Checkpoint, RunRow } from './checkpoint'
import { LeaseLostError, renewLease, renewLeaseSql } from './lease'
import type { DealRow } from './map'
import { jsonParam } from './metadata'
import type { SyncContext, SyncSession } from './session'
import { upsertDeals, type PageCommit } from './write'

/*
 * A step's commit: its writes, the checkpoint, the progress counters and the lease renewal go in
 * together (one transaction, or one statement for a Deals page), so a run resumes from its last
 * commit with nothing lost or doubled. Runs other than full ones also keep the closing months they
 * touched (checkpoint.touched), for their end to refresh only those months of the rollup.
 */

/** A run that touched more closing months than this refreshes the whole org's rollup instead. */
const MAX_TOUCHED_MONTHS = 24

export interface Progress {
  pages?: number
  /** Deals read from Zoho CRM in this commit, changed or not. */
  read?: number
  records?: number
  deletions?: number
  historyCalls?: number
  /** Closing months of the deals this commit deleted. */
  months?: RollupMonths
}

/** Saves the checkpoint and progress (and renews the lease) inside the caller's transaction. */
export async function commit(
  tx: Db,
  run: RunRow,
  holder: string,
  cp: Checkpoint,
  s: SyncSession,
  p: Progress,
  leaseSeconds: number,
) {
  await renewLease(tx, run.org_id, holder, leaseSeconds)
  await tx.execute(progressSql(run, cp, s, p, sql`${p.records ?? 0}`))
}

/**
 * The checkpoint + progress update (records added = the `records` expression; `pageMonths`: a
 * query of the closing months, `m`, that the page statement writes deals out of and into;
 * `pageReread`: the page's candidate for Checkpoint.rereadFrom, a timestamptz expression).
 */
function progressSql(
  run: RunRow,
  cp: Checkpoint,
  s: SyncSession,
  p: Progress,
  records: SQL,
  pageMonths?: SQL,
  pageReread?: SQL,
): SQL {
  // Snapshot: a prefetch may add calls while this commit runs; they count with the next commit.
  s.committingCalls = s.client?.stats.calls
  const calls = s.client ? s.client.stats.calls - s.countedCalls : 0
  // A full run refreshes the whole org: it keeps no months.
  const checkpoint = withRereadFrom(
    cp,
    cp.kind === 'full' ? jsonParam(cp) : withTouchedMonths(jsonParam(cp), p.months ?? [], pageMonths),
    pageReread,
  )
  return sql`
    update sync_runs set checkpoint = ${checkpoint}, phase = ${cp.phase}, status = 'running',
      pages = pages + ${p.pages ?? 0}, records = records + ${records},
      records_read = records_read + ${p.read ?? 0},
      deletions = deletions + ${p.deletions ?? 0}, api_calls = api_calls + ${calls},
      history_calls = history_calls + ${p.historyCalls ?? 0},
      credits_remaining = coalesce(${s.client?.stats.creditsRemaining ?? null}::int, credits_remaining),
      heartbeat_at = now()
    where id = ${run.id}`
}

/**
 * `cp` with `touched` set to the stored checkpoint's months (the pages committed before this one,
 * however far this copy is behind them) plus `deleted` and `page`'s; "org" past MAX_TOUCHED_MONTHS,
 * or when the stored checkpoint has none (a run started before months were kept).
 */
function withTouchedMonths(cp: SQL, deleted: RollupMonths, page?: SQL): SQL {
  const stored = sql`sync_runs.checkpoint->'touched'`
  return sql`jsonb_set(${cp}, '{touched}', (
    select case when ${stored} is null or ${stored} = '"org"'::jsonb or count(*) > ${MAX_TOUCHED_MONTHS}
                then '"org"'::jsonb else coalesce(jsonb_agg(u.m order by u.m), '[]'::jsonb) end
    from (select jsonb_array_elements_text(case when jsonb_typeof(${stored}) = 'array' then ${stored}
                                                else '[]'::jsonb end) as m
          union select jsonb_array_elements_text(${jsonParam(deleted)})
          ${page ? sql`union ${page}` : sql``}) u))`
}

/**
 * A paging run's `checkpoint` with rereadFrom the earliest of the stored one's (set by earlier page
 * statements, whatever this copy knows), this copy's and the page's.
 */
function withRereadFrom(cp: Checkpoint, checkpoint: SQL, page?: SQL): SQL {
  if (cp.kind === 'ids') return checkpoint
  return sql`jsonb_set(${checkpoint}, '{rereadFrom}', coalesce(to_jsonb(least(
    (sync_runs.checkpoint->>'rereadFrom')::timestamptz, ${cp.rereadFrom ?? null}::timestamptz,
    ${page ?? sql`null`}::timestamptz)), 'null'::jsonb))`
}

/** Marks the run's touched months as the whole org (its end refreshes every month). */
export async function touchedWholeOrg(db: Db, runId: string) {
  await db.execute(sql`update sync_runs set checkpoint = jsonb_set(checkpoint, '{touched}', '"org"')
    where id = ${runId}`)
}

/**
 * Writes a page of deals and commits its checkpoint (lease renewal, progress) atomically with it, in
 * one statement (write.ts), and notes whether the page held stored deals for the next one.
 */
export async function commitPage(
  ctx: SyncContext,
  s: SyncSession,
  run: RunRow,
  holder: string,
  cp: Checkpoint,
  p: Progress,
  leaseSeconds: number,
  write: PageWrite,
) {
  s.committingCalls = undefined
  const r = await write(ctx.db, {
    gate: renewLeaseSql(run.org_id, holder, leaseSeconds),
    progress: (changed, months, rereadFrom) => progressSql(run, cp, s, p, changed, months, rereadFrom),
  })
  if (!r.gated) throw new LeaseLostError(run.org_id)
  s.expectNew = r.stored === 0
  if (s.committingCalls !== undefined) s.countedCalls = s.committingCalls
}

export async function inTx(ctx: SyncContext, s: SyncSession, fn: (tx: Db) => Promise<void>) {
  s.committingCalls = undefined
  await ctx.db.transaction(async (tx) => fn(tx as unknown as Db))
  // Only once the transaction committed do these calls count as recorded.
  if (s.committingCalls !== undefined) s.countedCalls = s.committingCalls
}

/** The write of mapped rows, as commitPage runs it. */
export function pageWrite(
  s: SyncSession,
  run: RunRow,
  cp: Checkpoint,
  rows: DealRow[],
  source: 'sync' | 'watch',
): PageWrite {
  return (db, page) =>
    upsertDeals(db, run.org_id, rows, {
      recordNew: cp.kind !== 'full',
      source,
      page,
      expectNew: s.expectNew,
      runStartedAt: cp.kind === 'ids' ? undefined : run.started_at,
    })
}

export type PageWrite = (db: Db, page: PageCommit) => ReturnType<typeof upsertDeals>
