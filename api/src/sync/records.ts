import type { Db } from '../db/client'
import { ensureRateSets } from '../fx/pricing'
import { isRefreshDue } from '../fx/store'
import type { ZohoDealRecord } from '../zoho/types'
import { ms, type Checkpoint, type RunRow } from './checkpoint'
import { commitPage, type PageWrite, type Progress } from './commit'
import { LeaseLostError } from './lease'
import { dealCurrency, mapDeal, priceRow, stageOf, type DealRow } from './map'
import { settlePending } from './pages'
import { prepare, refreshMetadata, type SyncContext, type SyncSession } from './session'
import { deleteDeals, upsertDeals } from './write'

/*
 * Zoho records into deals rows: mapRecords converts, prices and checks a page's records against the
 * stage picklist; commitConfirmed commits Zoho's answer to a by-id question (the full sync's sweep,
 * Watch runs), removing the deals it no longer returns.
 */

/** Keeps the newest copy of each id (a page can repeat an id across token windows, held pages too). */
export function latestById<T extends { id: string }>(items: T[], modified: (t: T) => string): T[] {
  const m = new Map<string, T>()
  for (const r of items) {
    const had = m.get(r.id)
    if (!had || ms(modified(had)) <= ms(modified(r))) m.set(r.id, r)
  }
  return [...m.values()]
}

/** A page's records as deals rows: converted, priced, and checked against the stage picklist. */
export async function mapRecords(
  ctx: SyncContext,
  s: SyncSession,
  run: RunRow,
  cp: Checkpoint,
  records: ZohoDealRecord[],
): Promise<DealRow[]> {
  let { org, stages, book } = await prepare(ctx, s, run.org_id)
  if (!cp.metadataRefreshed && records.some((r) => !stageOf(r, stages).known)) {
    // A stage we do not know: the picklist changed. Refresh once per run.
    ctx.logger.info('unknown stage seen; refreshing metadata', { orgId: run.org_id, runId: run.id })
    await refreshMetadata(ctx, s, run.org_id)
    cp.metadataRefreshed = true
    ;({ org, stages, book } = await prepare(ctx, s, run.org_id))
  }
  // Deals in the base currency convert at exactly 1: no set is fetched for them.
  const closedDates = records
    .filter((r) => stageOf(r, stages).state === 'won' || stageOf(r, stages).state === 'lost')
    .filter((r) => dealCurrency(r, org) !== org.baseCurrency)
    .map((r) => r.Closing_Date)
    .filter((d): d is string => Boolean(d))
  // Also refreshes the latest set when it is due (cheap no-op otherwise), repricing stored open
  // deals: the previous page lands first, or its deals would miss the new set.
  if (isRefreshDue(book.newest, ctx.now(), ctx.config.CURRENCY_CACHE_DAYS)) await settlePending(s)
  const newestBefore = book.newest
  const weeksBefore = new Set(book.byWeek.keys())
  await ensureRateSets(ctx, closedDates, book)
  for (const w of book.byWeek.keys()) if (!weeksBefore.has(w)) s.storedWeeks.add(w)
  if (book.newest) {
    // A refresh here re-priced every stored open deal (the previous pages landed first).
    const at = book.newest.fetchedAt
    cp.pricedWith = book.newest !== newestBefore || !cp.pricedWith || at < cp.pricedWith ? at : cp.pricedWith
  }
  // Pages held back were priced before the latest set was refreshed: price them again.
  if (s.held && s.held.newest !== book.newest) {
    for (const row of s.held.rows) priceRow(row, org.homeCurrency, book)
    s.held.newest = book.newest
  }
  return latestById(records, (r) => r.Modified_Time).map((r) => mapDeal(r, stages, org, book))
}

/** Deals asked of Zoho by id in one step (GET /Deals?ids=). */
export const MAX_IDS_PER_STEP = 100

/**
 * Commits the answer to a by-id question with the checkpoint, in one transaction: the deals Zoho
 * returned are written, and the ids it was asked about and did not return (GET /Deals?ids= answers
 * live records only) are removed and counted as the run's deletions, so finalize rebuilds the rollups.
 */
export async function commitConfirmed(
  ctx: SyncContext,
  s: SyncSession,
  run: RunRow,
  holder: string,
  cp: Checkpoint,
  leaseSeconds: number,
  asked: string[],
  records: ZohoDealRecord[],
  source: 'sync' | 'watch',
) {
  const rows = await mapRecords(ctx, s, run, cp, records)
  const live = new Set(records.map((r) => String(r.id)))
  const gone = asked.filter((id) => !live.has(id))
  // The upsert statement (never the plain insert, whose failure would abort the transaction).
  const write: PageWrite = (db, page) =>
    upsertDeals(db, run.org_id, rows, { recordNew: cp.kind !== 'full', source, page })
  const progress: Progress = { pages: 1, read: records.length, deletions: 0 }
  await commitPage(ctx, s, run, holder, cp, progress, leaseSeconds, (db, page) =>
    gone.length
      ? db.transaction(async (tx) => {
          const t = tx as unknown as Db
          // Before the page's statement, which reads progress.deletions and .months into the run.
          ;({ deleted: progress.deletions, months: progress.months } = await deleteDeals(t, run.org_id, gone))
          const r = await write(t, page)
          if (!r.gated) throw new LeaseLostError(run.org_id) // roll the deletions back with the page
          return r
        })
      : write(db, page),
  )
}
