import { sql } from 'drizzle-orm'
import { query, type Db } from '../db/client'
import type { RollupMonths } from '../analytics/rollup'

/*
 * A run's checkpoint: what its sync_runs row says to do next (phase, token window, cursors, the
 * settings it started with), the defaults of those settings, and the row itself as steps load it.
 */

export type SyncKind = 'full' | 'incremental' | 'ids'
export type SyncTrigger = 'cron' | 'schedule' | 'manual' | 'cli' | 'watch' | 'startup'
export type Phase = 'metadata' | 'deals' | 'deleted' | 'sweep' | 'history' | 'ids' | 'finalize'

/** Per-run settings, fixed when the run starts and kept in its checkpoint. */
export interface RunSettings {
  /** Records per Deals call (≤ 200; default SYNC_BATCH_SIZE). */
  perPage?: number
  /** Records one page_token may reach before a new window starts (Zoho's cap: 100,000). */
  tokenWindowRecords?: number
  /** Overlap subtracted from every If-Modified-Since (seconds). */
  overlapSeconds?: number
  /** Stage_History calls this run may spend (0 skips the backfill). */
  historyBudget?: number
}

export interface Checkpoint {
  kind: SyncKind
  phase: Phase
  perPage: number
  tokenWindowRecords: number
  overlapSeconds: number
  historyBudget: number
  windowSince: string | null
  pageToken: string | null
  windowRecords: number
  firstModified: string | null
  maxModified: string | null
  sweepBefore: string | null
  /** The sweep's progress: unseen deals up to this id have been asked about (sweep phase). */
  sweepAfter?: string | null
  deletedSince: string | null
  deletedPage: number
  maxDeleted: string | null
  /** The deleted list had more than this run may page through: the next run is a full sync. */
  deletedOverflow?: boolean
  /**
   * fetchedAt of the oldest newest-set this run priced open deals with. A set stored since by
   * another process (the fx job) re-priced the stored open deals before this run wrote its own.
   */
  pricedWith?: string
  historyCalls: number
  historyFailed: boolean
  /**
   * The Stage_History fields this org accepts, once it refused STAGE_HISTORY_FIELDS (unset: all of
   * them). Kept for the rest of the run; an incremental run starts from the list of the newest run
   * that read history, a full run from every field again.
   */
  historyFields?: string[]
  metadataRefreshed: boolean
  ids: string[]
  resumable?: boolean
  /**
   * Incremental and Watch runs: the closing months of the deals this run wrote or deleted, before
   * and after (what the month rollup groups by), or "org" past MAX_TOUCHED_MONTHS; its end
   * refreshes only those months. Kept by the statements that write the deals (progressSql), so
   * the stored checkpoint is the authority, never this copy. A full run keeps none.
   */
  touched?: RollupMonths | 'org'
  /**
   * The list shifted under the page_token. A deal this run had read came again, edited since, or
   * (incremental runs) was deleted since; Zoho does not say whether a page_token remembers a
   * position, and if it does, the next page skipped a deal from here on. The earliest stored
   * Modified_Time of such deals: the next run reads from here instead of from maxModified (after a
   * full run, only when that is at most rereadMaxDeals). Kept by the statements that write the
   * deals (progressSql), like `touched`.
   */
  rereadFrom?: string | null
}

export const DEFAULTS = {
  /**
   * A full run whose list shifted has the next run read again from the shift only when at most this
   * many stored deals lie past it (10 calls): a long first sync of a busy org would otherwise read
   * most of it twice at once. Its sweep asks about the stored deals it did not see; a new deal it
   * skipped waits for the next full pass, which after a first sync comes rerunFirstFullAfterHours
   * later instead of a week.
   */
  rereadMaxDeals: 2_000,
  /**
   * A first full sync whose list shifted with more than rereadMaxDeals past the shift: every deal
   * was new to it, so any it skipped is missing. The next full pass comes due this long after it, in
   * the quiet of the next day rather than at once (the org is busy now) or in a week. Only after a
   * first sync, so a busy org's weekly passes never chain into daily ones.
   */
  rerunFirstFullAfterHours: 24,
  tokenWindowRecords: 100_000,
  overlapSeconds: 10,
  historyBudget: 100,
  leaseSeconds: 120,
  /**
   * Deleted-list pages per run (page numbers stop at 2,000 records). Zoho documents no order for
   * the list, so past them no cursor is safe: the next run is a full sync instead (its sweep).
   */
  deletedMaxPages: 10,
  historyPerStep: 10,
  /** Closed deals whose history is backfilled: closing date within this many days. */
  historyRecentDays: 90,
  /** Metadata older than this is refreshed by the next run. */
  metadataMaxAgeHours: 24,
  /**
   * Zoho lists a deletion for 60 days (recycle bin; 120 when permanent). After this long without a
   * successful run, some deletions since it may have left the list: the next run is a full sync
   * (implied by fullSyncEveryDays while that is shorter; kept should it be lengthened).
   */
  deletedListedDays: 50,
  /**
   * A full pass at least this often. An incremental run reads what changed after its cursor, so a
   * deal it skipped stays skipped: Zoho documents no guarantee for a page_token when the list
   * changes under it (an edit or deletion behind it, ties at a page boundary), nor a new
   * Modified_Time for a deal restored from the recycle bin. A full pass reads every deal again.
   */
  fullSyncEveryDays: 7,
} as const

export interface RunRow {
  id: string
  org_id: string
  kind: SyncKind
  status: string
  started_at: string
  checkpoint: Checkpoint
}

export async function loadRun(db: Db, runId: string): Promise<RunRow | undefined> {
  const [r] = await query<RunRow>(
    db,
    sql`select id, org_id, kind, status, started_at::text as started_at, checkpoint from sync_runs where id = ${runId}`,
  )
  if (r && typeof r.checkpoint === 'string') r.checkpoint = JSON.parse(r.checkpoint) as Checkpoint
  return r
}

export const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z')
export const ms = (t: string) => new Date(t).getTime()
/** The earlier of two times (Zoho's, with offsets); `a` may be unset. */
export const earliest = (a: string | null | undefined, b: string) => (a && ms(a) <= ms(b) ? a : b)
export const minusSeconds = (t: string, s: number) => iso(new Date(ms(t) - s * 1000))
