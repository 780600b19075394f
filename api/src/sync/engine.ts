import { sql, type SQL } from 'drizzle-orm'
import { query, sqlState, type Db } from '../db/client'
import {
  ensureRateSets,
  loadRateBook,
  repriceClosedDealsOfOrg,
  repriceOpenDeals,
  type RateBook,
} from '../fx/pricing'
import { isRefreshDue, newestSetInfo } from '../fx/store'
import type { JobContext } from '../jobs'
import { clientForOrg, STAGE_HISTORY_FIELDS } from '../zoho/client'
import { MINIMAL_STAGE_HISTORY_FIELDS, isDealGone, narrowerHistoryFields } from '../zoho/history-fields'
import { ZohoApiError, ZohoBudgetError, ZohoNetworkError, ZohoRateLimitError } from '../zoho/errors'
import type { ListDealsParams, ZohoClient, ZohoDealRecord, ZohoDealsPage, ZohoPageInfo } from '../zoho/types'
import { acquireLease, LeaseLostError, releaseLease, renewLease, renewLeaseSql } from './lease'
import { dealCurrency, dealFields, mapDeal, priceRow, stageOf, type DealRow, type OrgMeta } from './map'
import { jsonParam, syncMetadata } from './metadata'
import { loadStageMap, type StageMap } from './stages'
import { deleteDeals, unseenDeals, upsertDeals, type PageCommit } from './write'
import { markRollupsBehind, refreshRollupsAfterSync, type RollupMonths } from '../analytics/rollup'
import { stageKeys } from '../analytics/stage-keys'

/*
 * The sync engine, as resumable steps. A run is a sync_runs row whose checkpoint says what to do
 * next; syncStep does one unit (one Zoho page, mostly) and commits its rows, the checkpoint and the
 * progress counters in ONE transaction, so a crash or kill at any point resumes from the last
 * commit with nothing lost or doubled. runSteps drives steps under a page/time budget (Node loop,
 * Worker cron); a Cloudflare Workflow can call syncStep once per step.do instead.
 *
 * Deals are read through page_token with sort_by=Modified_Time&sort_order=asc. A token reaches at
 * most 100,000 records, so before a window would pass that cap the engine opens a new token window
 * with If-Modified-Since = the last Modified_Time seen minus a small overlap; rows re-delivered by the
 * overlap are de-duplicated on (id, Modified_Time) by the upsert. The same rule ends every run: the
 * modified cursor becomes the last Modified_Time seen, and the next run starts its window there
 * (minus the overlap). A deal edited while a sync pages past it gets a Modified_Time later than what
 * that sync has seen, so it is read either at the end of the same window or by the next window/run.
 * Deletions come only from /Deals/deleted (since the deleted cursor), which lists one for 60 days:
 * a run after a longer silence is a full pass. A full pass also removes the deals it did not see,
 * once Zoho, asked by id, no longer returns them (a page_token may skip a deal: Zoho documents no
 * guarantee when the list changes under it).
 */

export type SyncKind = 'full' | 'incremental' | 'ids'
export type SyncTrigger = 'cron' | 'schedule' | 'manual' | 'cli' | 'watch' | 'startup'
type Phase = 'metadata' | 'deals' | 'deleted' | 'sweep' | 'history' | 'ids' | 'finalize'

export interface SyncContext extends JobContext {
  /** The Zoho client for an org (default: clientForOrg with the stored connection). */
  clientFor?(orgId: string): Promise<ZohoClient>
}

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

export interface StartOptions extends RunSettings {
  trigger: SyncTrigger
  /** Forced kind; default full when the org was never fully synced, else incremental. */
  kind?: 'full' | 'incremental'
  startedBy?: string | null
  /** For kind 'ids' (Watch callbacks). */
  ids?: string[]
  leaseSeconds?: number
}

export interface Budget {
  /** Steps (≈ pages) this invocation may run before stopping at a checkpoint. */
  maxPages?: number
  /** Wall-clock budget of this invocation. */
  timeBudgetMs?: number
  signal?: AbortSignal
  leaseSeconds?: number
}

interface Checkpoint {
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
}

export const DEFAULTS = {
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

const MAX_ZOHO_PER_PAGE = 200

/** A run that touched more closing months than this refreshes the whole org's rollup instead. */
const MAX_TOUCHED_MONTHS = 24

/** Cumulative wall time per sync stage in this process (ms): read by the bench, costs two clock reads. */
export const stageTimes: Record<string, number> = {}
async function timed<T>(stage: string, fn: () => Promise<T>): Promise<T> {
  const t = performance.now()
  try {
    return await fn()
  } finally {
    stageTimes[stage] = (stageTimes[stage] ?? 0) + performance.now() - t
  }
}

// ------------------------------------------------------------------------------------- session

/** What steps of one invocation share: the client, org metadata, stage map, rate book. */
export class SyncSession {
  client?: ZohoClient
  org?: OrgMeta
  apiDomain?: string
  stages?: StageMap
  book?: RateBook
  /** client.stats.calls already counted into the run. */
  countedCalls = 0
  /** client.stats.calls as recorded by the commit in progress. */
  committingCalls?: number
  /**
   * Set by a driver that will run another step in this session (runSteps): the deals step then
   * fetches the next page while it writes the current one. Off for one-step sessions (a Workflow
   * step), where the fetched page would be thrown away.
   */
  prefetch = false
  /** Mondays whose historical sets this session stored (repriceClosedDealsOfOrg at the end). */
  storedWeeks = new Set<string>()
  /** The run as the last Deals page committed it: the next page needs no read of sync_runs. */
  run?: RunRow
  /**
   * The last Deals page written held no stored deal (true before the first): the next full-sync
   * page is tried as a plain insert (write.ts insertStatement).
   */
  expectNew = true
  /**
   * The last Deals page's commit, still in flight while the next page is fetched and mapped (only
   * when `prefetch` is on). Every step settles it before writing anything itself.
   */
  pending?: Promise<void>
  /** Whether `pending` has settled (pages are held back only while it runs). */
  pendingSettled = true
  /**
   * Deals pages read and mapped while the previous page's commit was still running, not written
   * yet: the next commit writes them with its own page, so when the database is the slower side it
   * gets fewer, bigger statements. In memory only and bounded (MAX_HELD_ROWS); the stored checkpoint
   * stays behind them, so a crash or a retried step reads them again. Valid only with `run`.
   */
  held?: HeldPages
  /** The next Deals page, requested before the step that reads it; used only if the checkpoint asks for it. */
  nextPage?: PageRequest
  /** The Deals page the current step reads: once its info is in, the next page is requested. */
  reading?: PageRequest
}

/** A Deals page requested, with what the checkpoint knew when it was. */
interface PageRequest {
  key: string
  params: ListDealsParams
  /** The checkpoint's windowRecords before this page, and its limits. */
  windowRecords: number
  perPage: number
  tokenWindowRecords: number
  /** The response; dropped once read, as the request stays referenced while its page is read. */
  result?: Promise<{ page: ZohoDealsPage } | { error: unknown }>
  /** The page after it, once its info is in (null: none, or not one to request ahead). */
  next?: { params: PageRequest['params']; windowRecords: number } | null
}

/**
 * Waits for the page commit in flight. If it failed, the run cached from it is dropped (the stored
 * checkpoint is the truth again) and its error surfaces here.
 */
async function settlePending(s: SyncSession): Promise<void> {
  const pending = s.pending
  if (!pending) return
  s.pending = undefined
  try {
    await pending
  } catch (e) {
    s.run = undefined
    s.nextPage = undefined
    s.reading = undefined
    throw e
  }
}

const pageKey = (p: ListDealsParams) =>
  JSON.stringify([p.modifiedSince ?? null, p.pageToken ?? null, p.perPage])

/** The Deals page a checkpoint asks for: the one requested ahead when it matches, else a fresh call. */
async function fetchDealsPage(
  client: ZohoClient,
  s: SyncSession,
  cp: Checkpoint,
  params: ListDealsParams,
): Promise<ZohoDealsPage> {
  let page = s.nextPage
  s.nextPage = undefined
  if (page?.key !== pageKey(params)) page = requestPage(client, s, cp, params, cp.windowRecords)
  s.reading = page
  requestNext(client, s, page)
  const result = page.result!
  page.result = undefined
  const r = await result
  if ('page' in r) return r.page
  throw r.error
}

/** Requests the page after the current one (the checkpoint's next request), unless it already was. */
function prefetchDealsPage(
  client: ZohoClient,
  s: SyncSession,
  cp: Checkpoint,
  params: ListDealsParams,
): void {
  if (s.nextPage?.key !== pageKey(params)) s.nextPage = requestPage(client, s, cp, params, cp.windowRecords)
}

/** A Deals page request; `windowRecords`: the records of its token window before it. */
function requestPage(
  client: ZohoClient,
  s: SyncSession,
  limits: Pick<Checkpoint, 'perPage' | 'tokenWindowRecords'>,
  params: ListDealsParams,
  windowRecords: number,
): PageRequest {
  const page: PageRequest = {
    key: pageKey(params),
    params,
    windowRecords,
    perPage: limits.perPage,
    tokenWindowRecords: limits.tokenWindowRecords,
    // Settled into a value so an abandoned page never becomes an unhandled rejection.
    result: client
      .listDeals(params, {
        // The page_token chain is the sync's critical path: as soon as this body is in, before
        // its parse, the next request goes out (if this is the page being read).
        onInfo: (info) => {
          page.next = pageAfter(page, info)
          return requestNext(client, s, page)
        },
      })
      .then(
        (p) => ({ page: p }),
        (error: unknown) => ({ error }),
      ),
  }
  return page
}

/**
 * The request after `page` as the step reading it will make it (same window, its next_page_token),
 * or null when that step decides otherwise (last page, a new window).
 */
function pageAfter(page: PageRequest, info: ZohoPageInfo): PageRequest['next'] {
  const windowRecords = page.windowRecords + (info.count ?? 0)
  if (!info.more_records || !info.next_page_token || !info.count) return null
  if (windowRecords + page.perPage > page.tokenWindowRecords) return null
  return { params: { ...page.params, pageToken: info.next_page_token }, windowRecords }
}

/** Requests the page after the one being read, once its info is in. True when it did. */
function requestNext(client: ZohoClient, s: SyncSession, page: PageRequest): boolean {
  if (!s.prefetch || s.reading !== page || !page.next || s.nextPage) return false
  s.nextPage = requestPage(client, s, page, page.next.params, page.next.windowRecords)
  return true
}

async function clientOf(ctx: SyncContext, s: SyncSession, orgId: string): Promise<ZohoClient> {
  if (!s.client) {
    s.client = ctx.clientFor
      ? await ctx.clientFor(orgId)
      : await clientForOrg(ctx.db, ctx.config, orgId, ctx.fetch, { logger: ctx.logger, http: ctx.zohoHttp })
    s.countedCalls = s.client.stats.calls
  }
  return s.client
}

async function loadOrg(db: Db, orgId: string): Promise<(OrgMeta & { apiDomain: string | null }) | undefined> {
  const [o] = await query<{
    id: string
    home_currency: string
    base_currency: string
    multi_currency: boolean
    time_zone: string
    api_domain: string | null
  }>(
    db,
    sql`select o.id, o.home_currency, o.base_currency, o.multi_currency, o.time_zone, c.api_domain
        from orgs o left join zoho_connections c on c.org_id = o.id where o.id = ${orgId}`,
  )
  return (
    o && {
      id: o.id,
      homeCurrency: o.home_currency,
      baseCurrency: o.base_currency,
      multiCurrency: o.multi_currency,
      timeZone: o.time_zone,
      apiDomain: o.api_domain,
    }
  )
}

async function refreshMetadata(ctx: SyncContext, s: SyncSession, orgId: string) {
  const client = await clientOf(ctx, s, orgId)
  const apiDomain = (await loadOrg(ctx.db, orgId))?.apiDomain ?? ctx.config.ZOHO_API_DOMAIN
  await syncMetadata(ctx.db, client, orgId, {
    apiDomain,
    baseCurrency: ctx.config.BASE_CURRENCY,
    logger: ctx.logger,
  })
  s.org = undefined
  s.stages = undefined
  // The org's base currency may have changed with it: its book is loaded in that base.
  s.book = undefined
}

async function prepare(ctx: SyncContext, s: SyncSession, orgId: string) {
  if (!s.org) {
    const o = await loadOrg(ctx.db, orgId)
    if (!o) throw new Error(`Org ${orgId} has no metadata yet`)
    s.org = o
  }
  s.stages ??= await loadStageMap(ctx.db, orgId)
  s.book ??= await loadRateBook(ctx.db, s.org.baseCurrency)
  return { org: s.org, stages: s.stages, book: s.book }
}

// ------------------------------------------------------------------------------------- runs

interface RunRow {
  id: string
  org_id: string
  kind: SyncKind
  status: string
  started_at: string
  checkpoint: Checkpoint
}

async function loadRun(db: Db, runId: string): Promise<RunRow | undefined> {
  const [r] = await query<RunRow>(
    db,
    sql`select id, org_id, kind, status, started_at::text as started_at, checkpoint from sync_runs where id = ${runId}`,
  )
  if (r && typeof r.checkpoint === 'string') r.checkpoint = JSON.parse(r.checkpoint) as Checkpoint
  return r
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z')
const ms = (t: string) => new Date(t).getTime()
const minusSeconds = (t: string, s: number) => iso(new Date(ms(t) - s * 1000))

function newCheckpoint(
  kind: SyncKind,
  settings: RunSettings,
  ctx: SyncContext,
  state: { modifiedCursor: string | null; deletedCursor: string | null; metadataFresh: boolean },
): Checkpoint {
  const overlap = settings.overlapSeconds ?? DEFAULTS.overlapSeconds
  const incremental = kind === 'incremental'
  return {
    kind,
    phase: kind === 'ids' ? 'ids' : incremental && state.metadataFresh ? 'deals' : 'metadata',
    perPage: Math.min(MAX_ZOHO_PER_PAGE, settings.perPage ?? ctx.config.SYNC_BATCH_SIZE),
    tokenWindowRecords: settings.tokenWindowRecords ?? DEFAULTS.tokenWindowRecords,
    overlapSeconds: overlap,
    historyBudget: settings.historyBudget ?? DEFAULTS.historyBudget,
    windowSince: incremental && state.modifiedCursor ? minusSeconds(state.modifiedCursor, overlap) : null,
    pageToken: null,
    windowRecords: 0,
    firstModified: null,
    maxModified: null,
    sweepBefore: null,
    deletedSince: incremental && state.deletedCursor ? minusSeconds(state.deletedCursor, overlap) : null,
    deletedPage: 1,
    maxDeleted: null,
    historyCalls: 0,
    historyFailed: false,
    metadataRefreshed: false,
    ids: [],
    ...(kind === 'full' ? {} : { touched: [] }),
  }
}

export interface Started {
  runId: string
  holder: string
  resumed: boolean
}

/**
 * Takes the org's lease and returns the run to drive: an unfinished run left by a dead or
 * budget-stopped holder (resumed from its checkpoint), a new run continuing a failed run's
 * checkpoint, or a new run. Null when a live holder is syncing the org.
 */
export async function startSync(
  ctx: SyncContext,
  orgId: string,
  opts: StartOptions,
): Promise<Started | null> {
  const holder = crypto.randomUUID()
  if (!(await acquireLease(ctx.db, orgId, holder, opts.leaseSeconds ?? DEFAULTS.leaseSeconds))) return null
  try {
    // An ids run is never resumed: one still open has lost its holder (the lease is ours now).
    await ctx.db.execute(sql`update sync_runs set status = 'failed', phase = 'failed', finished_at = now(),
      error = ${IDS_RUN_ABANDONED} where org_id = ${orgId} and kind = 'ids' and status in ('queued', 'running')`)
    if (opts.ids) {
      // A full or incremental run still open (between Workflow steps, or paused) reads these deals,
      // or the next incremental does: an ids run would only take the lease from it.
      const [open] = await query<{ id: string }>(
        ctx.db,
        sql`select id from sync_runs where org_id = ${orgId} and status in ('queued', 'running') limit 1`,
      )
      if (open) {
        await releaseLease(ctx.db, orgId, holder)
        return null
      }
      const cp = newCheckpoint('ids', opts, ctx, {
        modifiedCursor: null,
        deletedCursor: null,
        metadataFresh: true,
      })
      cp.ids = [...new Set(opts.ids)]
      return { runId: await insertRun(ctx.db, orgId, 'ids', opts, cp), holder, resumed: false }
    }
    // `outlived`: the deleted list may no longer hold every deletion the open run would rely on.
    // An incremental one reads deletions since the last run that succeeded (none has while it is
    // open); a full one trusts the list from its start (its sweep misses deals it saw, then deleted).
    // `full_due`: an open incremental run (paused, say) while the weekly full pass came due.
    const [open] = await query<{ id: string; outlived: boolean; full_due: boolean }>(
      ctx.db,
      sql`select r.id, coalesce(case when r.kind = 'full' then r.started_at else s.last_success_at end
                   < now() - make_interval(days => ${DEFAULTS.deletedListedDays}), false) as outlived,
                 coalesce(r.kind = 'incremental'
                   and s.last_full_sync_at <= now() - make_interval(days => ${DEFAULTS.fullSyncEveryDays}),
                   false) as full_due
          from sync_runs r left join sync_state s on s.org_id = r.org_id
          where r.org_id = ${orgId} and r.status in ('queued', 'running') and r.kind <> 'ids'
          order by r.started_at desc limit 1`,
    )
    if (open && !opts.kind && !open.outlived && !open.full_due) {
      // A paused run's reason no longer holds once it is driven again (or it pauses again).
      await ctx.db.execute(sql`update sync_runs set error = null where id = ${open.id} and error is not null`)
      return { runId: open.id, holder, resumed: true }
    }
    if (open)
      await ctx.db.execute(sql`update sync_runs set status = 'failed', phase = 'failed', finished_at = now(),
        error = ${opts.kind ? 'Superseded by a new run' : open.outlived ? RUN_OUTLIVED_DELETED_LIST : RUN_FULL_PASS_DUE}
        where id = ${open.id}`)
    // Such a run is replaced by a full pass, whose sweep finds the deletions the list forgot.
    const forced = opts.kind ?? (open?.outlived || open?.full_due ? 'full' : undefined)

    const [state] = await query<{
      modified_cursor: string | null
      deleted_cursor: string | null
      last_full_sync_at: string | null
      full_sync_due: boolean
      fresh: boolean
      full_pass_due: boolean
    }>(
      ctx.db,
      sql`select modified_cursor::text, deleted_cursor::text, last_full_sync_at::text, full_sync_due,
            coalesce(metadata_refreshed_at > now() - make_interval(hours => ${DEFAULTS.metadataMaxAgeHours}), false) as fresh,
            coalesce(last_success_at < now() - make_interval(days => ${DEFAULTS.deletedListedDays}), false)
              or coalesce(last_full_sync_at <= now() - make_interval(days => ${DEFAULTS.fullSyncEveryDays}), false)
              as full_pass_due
          from sync_state where org_id = ${orgId}`,
    )
    const kind: 'full' | 'incremental' =
      forced ??
      (state?.last_full_sync_at && !state.full_sync_due && !state.full_pass_due ? 'incremental' : 'full')

    // A failed run of the same kind in the last day is continued from its checkpoint, not redone.
    const [failed] = await query<{ checkpoint: Checkpoint | string }>(
      ctx.db,
      sql`select checkpoint from sync_runs where org_id = ${orgId} and kind = ${kind} and kind <> 'ids'
          and started_at > now() - interval '1 day'
          order by started_at desc limit 1`,
    )
    const prior =
      failed && (typeof failed.checkpoint === 'string' ? JSON.parse(failed.checkpoint) : failed.checkpoint)
    let cp: Checkpoint
    if (prior?.resumable && !opts.kind) {
      cp = { ...(prior as Checkpoint), resumable: false }
    } else {
      cp = newCheckpoint(kind, opts, ctx, {
        modifiedCursor: state?.modified_cursor ?? null,
        deletedCursor: state?.deleted_cursor ?? null,
        metadataFresh: Boolean(state?.fresh),
      })
    }
    const runId = await insertRun(ctx.db, orgId, kind, opts, cp)
    if (kind === 'full' && !cp.sweepBefore) {
      // Deals not seen by this pass (synced_at older than the run) are swept at its end.
      const [r] = await query<{ t: string }>(
        ctx.db,
        sql`select started_at::text as t from sync_runs where id = ${runId}`,
      )
      cp.sweepBefore = r!.t
      await ctx.db.execute(sql`update sync_runs set checkpoint = ${jsonParam(cp)} where id = ${runId}`)
    }
    return { runId, holder, resumed: Boolean(prior?.resumable && !opts.kind) }
  } catch (e) {
    await releaseLease(ctx.db, orgId, holder)
    throw e
  }
}

async function insertRun(db: Db, orgId: string, kind: SyncKind, opts: StartOptions, cp: Checkpoint) {
  const runId = crypto.randomUUID()
  await db.execute(
    sql`insert into sync_runs (id, org_id, kind, trigger, status, phase, started_by, checkpoint)
        values (${runId}, ${orgId}, ${kind}, ${opts.trigger}, 'running', ${cp.phase}, ${opts.startedBy ?? null},
                ${jsonParam(cp)})`,
  )
  return runId
}

interface Progress {
  pages?: number
  records?: number
  deletions?: number
  historyCalls?: number
  /** Closing months of the deals this commit deleted. */
  months?: RollupMonths
}

/** Saves the checkpoint and progress (and renews the lease) inside the caller's transaction. */
async function commit(
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
 * query of the closing months, `m`, that the page statement writes deals out of and into).
 */
function progressSql(
  run: RunRow,
  cp: Checkpoint,
  s: SyncSession,
  p: Progress,
  records: SQL,
  pageMonths?: SQL,
): SQL {
  // Snapshot: a prefetch may add calls while this commit runs; they count with the next commit.
  s.committingCalls = s.client?.stats.calls
  const calls = s.client ? s.client.stats.calls - s.countedCalls : 0
  // A full run refreshes the whole org: its page statements stay as they are.
  const checkpoint =
    cp.kind === 'full' ? jsonParam(cp) : withTouchedMonths(jsonParam(cp), p.months ?? [], pageMonths)
  return sql`
    update sync_runs set checkpoint = ${checkpoint}, phase = ${cp.phase}, status = 'running',
      pages = pages + ${p.pages ?? 0}, records = records + ${records},
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

/** Marks the run's touched months as the whole org (its end refreshes every month). */
async function touchedWholeOrg(db: Db, runId: string) {
  await db.execute(sql`update sync_runs set checkpoint = jsonb_set(checkpoint, '{touched}', '"org"')
    where id = ${runId}`)
}

/**
 * Writes a page of deals and commits its checkpoint (lease renewal, progress) atomically with it, in
 * one statement (write.ts), and notes whether the page held stored deals for the next one.
 */
async function commitPage(
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
    progress: (changed, months) => progressSql(run, cp, s, p, changed, months),
  })
  if (!r.gated) throw new LeaseLostError(run.org_id)
  s.expectNew = r.stored === 0
  if (s.committingCalls !== undefined) s.countedCalls = s.committingCalls
}

async function inTx(ctx: SyncContext, s: SyncSession, fn: (tx: Db) => Promise<void>) {
  s.committingCalls = undefined
  await ctx.db.transaction(async (tx) => fn(tx as unknown as Db))
  // Only once the transaction committed do these calls count as recorded.
  if (s.committingCalls !== undefined) s.countedCalls = s.committingCalls
}

// ------------------------------------------------------------------------------------- steps

function nextWindowSince(cp: Checkpoint): string | null {
  if (!cp.maxModified) return cp.windowSince
  let since = minusSeconds(cp.maxModified, cp.overlapSeconds)
  if (cp.windowSince && ms(since) <= ms(cp.windowSince)) since = cp.maxModified
  if (cp.windowSince && ms(since) <= ms(cp.windowSince)) since = iso(new Date(ms(cp.maxModified) + 1000))
  return since
}

/** Keeps the newest copy of each id (a page can repeat an id across token windows, held pages too). */
function latestById<T extends { id: string }>(items: T[], modified: (t: T) => string): T[] {
  const m = new Map<string, T>()
  for (const r of items) {
    const had = m.get(r.id)
    if (!had || ms(modified(had)) <= ms(modified(r))) m.set(r.id, r)
  }
  return [...m.values()]
}

/** Deals pages held back from the database (SyncSession.held). */
interface HeldPages {
  rows: DealRow[]
  pages: number
  /** The latest rate set the rows were priced with. */
  newest: RateBook['newest']
}

/** At most this many rows wait for one commit: about 1 MB, well inside the memory budget. */
const MAX_HELD_ROWS = 1000

/** Held pages plus one more; a deal on both keeps its newest copy. */
function holdPage(held: HeldPages | undefined, rows: DealRow[], newest: RateBook['newest']) {
  if (!held) return { rows, pages: 1, newest }
  return {
    rows: latestById([...held.rows, ...rows], (r) => r.modified_time),
    pages: held.pages + 1,
    newest,
  }
}

/** Writes the pages held back (if any) with this checkpoint, after the commit in flight. */
async function flushHeld(
  ctx: SyncContext,
  s: SyncSession,
  run: RunRow,
  cp: Checkpoint,
  holder: string,
  leaseSeconds: number,
) {
  const held = s.held
  s.held = undefined
  if (!held) return
  await settlePending(s)
  await commitPage(
    ctx,
    s,
    run,
    holder,
    cp,
    { pages: held.pages },
    leaseSeconds,
    pageWrite(s, run, cp, held.rows, 'sync'),
  )
}

/** The write of mapped rows, as commitPage runs it. */
function pageWrite(
  s: SyncSession,
  run: RunRow,
  cp: Checkpoint,
  rows: DealRow[],
  source: 'sync' | 'watch',
): PageWrite {
  return (db, page) =>
    upsertDeals(db, run.org_id, rows, { recordNew: cp.kind !== 'full', source, page, expectNew: s.expectNew })
}

/** A page's records as deals rows: converted, priced, and checked against the stage picklist. */
async function mapRecords(
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

type PageWrite = (db: Db, page: PageCommit) => ReturnType<typeof upsertDeals>

/** Deals asked of Zoho by id in one step (GET /Deals?ids=). */
const MAX_IDS_PER_STEP = 100

/**
 * Commits the answer to a by-id question with the checkpoint, in one transaction: the deals Zoho
 * returned are written, and the ids it was asked about and did not return (GET /Deals?ids= answers
 * live records only) are removed and counted as the run's deletions, so finalize rebuilds the rollups.
 */
async function commitConfirmed(
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
  const progress: Progress = { pages: 1, deletions: 0 }
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

export interface StepResult {
  done: boolean
  phase: Phase
}

/** One unit of work of a run, committed atomically with its checkpoint. */
export async function syncStep(
  ctx: SyncContext,
  runId: string,
  holder: string,
  s: SyncSession = new SyncSession(),
  leaseSeconds: number = DEFAULTS.leaseSeconds,
): Promise<StepResult> {
  const cached = s.run?.id === runId ? s.run : undefined
  s.run = undefined
  if (!cached) s.held = undefined
  // Only a following Deals page may run ahead of the previous page's commit.
  if (cached?.checkpoint.phase !== 'deals') await settlePending(s)
  const run = cached ?? (await timed('load_run', () => loadRun(ctx.db, runId)))
  if (!run) throw new Error(`No sync run ${runId}`)
  if (run.status === 'succeeded' || run.status === 'failed')
    return { done: true, phase: run.checkpoint.phase }
  const cp: Checkpoint = { ...run.checkpoint }
  const orgId = run.org_id
  const save = (p: Progress, extra?: (tx: Db) => Promise<unknown>) =>
    inTx(ctx, s, async (tx) => {
      if (extra) await extra(tx)
      await commit(tx, run, holder, cp, s, p, leaseSeconds)
    })

  switch (cp.phase) {
    case 'metadata': {
      await timed('metadata', () => refreshMetadata(ctx, s, orgId))
      cp.phase = 'deals'
      await save({})
      break
    }

    case 'deals': {
      const client = await clientOf(ctx, s, orgId)
      const { org } = await prepare(ctx, s, orgId)
      const params = (): ListDealsParams => ({
        fields: dealFields(org.multiCurrency),
        perPage: cp.perPage,
        sortBy: 'Modified_Time',
        sortOrder: 'asc',
        modifiedSince: cp.windowSince ?? undefined,
        pageToken: cp.pageToken ?? undefined,
      })
      let page
      try {
        page = await timed('fetch_parse', () => fetchDealsPage(client, s, cp, params()))
      } catch (e) {
        if (
          e instanceof ZohoApiError &&
          (e.restartPagination ||
            e.code === 'PAGINATION_LIMIT_EXCEEDED' ||
            // Any other 400 to a page_token request, e.g. INVALID_DATA for another user's token
            // (Zoho reconnected as someone else while the run waited): the window's first request
            // carries no token, so a 400 that is not the token's fails there instead.
            (e.status === 400 && cp.pageToken !== null))
        ) {
          // The token expired, no longer matches, or hit its cap: a new window from the last record seen.
          ctx.logger.warn('page token refused; new window', { orgId, runId, code: e.code })
          cp.windowSince = nextWindowSince(cp)
          cp.pageToken = null
          cp.windowRecords = 0
          // Pages held back go in with this checkpoint, which moves past them.
          if (s.held) await flushHeld(ctx, s, run, cp, holder, leaseSeconds)
          else await save({})
          break
        }
        throw e
      }
      const records = page.data
      // Each Modified_Time parsed once (records carry offsets, so strings do not compare).
      let first = cp.firstModified ? ms(cp.firstModified) : Infinity
      let max = cp.maxModified ? ms(cp.maxModified) : -Infinity
      for (const r of records) {
        const t = ms(r.Modified_Time)
        if (t < first) {
          first = t
          cp.firstModified = r.Modified_Time
        }
        if (t > max) max = t
      }
      if (max > (cp.maxModified ? ms(cp.maxModified) : -Infinity)) cp.maxModified = iso(new Date(max))
      cp.windowRecords += records.length
      const more = page.info.more_records && records.length > 0
      if (!more) {
        cp.phase = cp.kind === 'full' ? 'sweep' : 'deleted'
        cp.pageToken = null
      } else if (!page.info.next_page_token || cp.windowRecords + cp.perPage > cp.tokenWindowRecords) {
        cp.windowSince = nextWindowSince(cp)
        cp.pageToken = null
        cp.windowRecords = 0
      } else cp.pageToken = page.info.next_page_token
      // The page_token chain is sequential, but the next page can be on the wire while this one is
      // mapped and written. It is used only if this commit goes through and the next step asks for it.
      if (s.prefetch && cp.phase === 'deals') prefetchDealsPage(client, s, cp, params())
      const rows = await timed('map_price', () => mapRecords(ctx, s, run, cp, records))
      const held = holdPage(s.held, rows, s.book!.newest)
      s.held = undefined
      s.run = { ...run, checkpoint: cp }
      if (
        s.prefetch &&
        cp.phase === 'deals' &&
        s.pending &&
        !s.pendingSettled &&
        held.rows.length + cp.perPage <= MAX_HELD_ROWS
      ) {
        // The previous commit is still running: hold this page and read the next one.
        s.held = held
        break
      }
      // Pages commit in order: these go out once the previous ones are in.
      await timed('write_commit', () => settlePending(s))
      const write = pageWrite(s, run, cp, held.rows, 'sync')
      const committed = commitPage(ctx, s, run, holder, cp, { pages: held.pages }, leaseSeconds, write)
      if (s.prefetch && cp.phase === 'deals') {
        // The next step maps its page while the database writes this one (two cores, not one).
        s.pendingSettled = false
        committed.then(
          () => (s.pendingSettled = true),
          () => (s.pendingSettled = true), // and its error is raised by the next step
        )
        s.pending = committed
      } else await timed('write_commit', () => committed)
      break
    }

    case 'deleted': {
      if (!cp.deletedSince) {
        cp.phase = 'history'
        await save({})
        break
      }
      const client = await clientOf(ctx, s, orgId)
      const res = await client.listDeletedDeals({
        page: cp.deletedPage,
        perPage: 200,
        modifiedSince: cp.deletedSince,
      })
      for (const d of res.data)
        if (!cp.maxDeleted || ms(d.deleted_time) > ms(cp.maxDeleted))
          cp.maxDeleted = iso(new Date(d.deleted_time))
      if (res.info.more_records && res.data.length && cp.deletedPage < DEFAULTS.deletedMaxPages)
        cp.deletedPage++
      else {
        if (res.info.more_records) {
          cp.deletedOverflow = true
          ctx.logger.warn('more deletions than a run can list; the next run is a full sync', { orgId, runId })
        }
        cp.phase = 'history'
      }
      await inTx(ctx, s, async (tx) => {
        const { deleted, months } = await deleteDeals(
          tx,
          orgId,
          res.data.map((d) => d.id),
        )
        await commit(tx, run, holder, cp, s, { deletions: deleted, months, pages: 1 }, leaseSeconds)
      })
      break
    }

    case 'sweep': {
      // Deals this full pass did not see: gone from Zoho, or skipped by a page_token whose list
      // shifted under it (an edit or deletion behind it, ties at a page boundary: Zoho documents
      // no guarantee). Zoho, asked by id, tells which; the ones it still returns are written.
      const unseen = await timed('sweep', () =>
        unseenDeals(ctx.db, orgId, cp.sweepBefore!, cp.sweepAfter ?? null, MAX_IDS_PER_STEP),
      )
      if (!unseen.length) {
        cp.phase = 'history'
        await save({})
        break
      }
      const client = await clientOf(ctx, s, orgId)
      const { org } = await prepare(ctx, s, orgId)
      let records: ZohoDealRecord[]
      try {
        records = await client.getDealsByIds(unseen, dealFields(org.multiCurrency))
      } catch (e) {
        // Should Zoho refuse to be asked about ids it no longer has, the pass decides alone, as
        // before it asked: what it did not see is gone.
        if (!(e instanceof ZohoApiError && [400, 403, 404].includes(e.status))) throw e
        ctx.logger.warn('unseen deals could not be confirmed by id; removed', { orgId, runId, code: e.code })
        records = []
      }
      cp.sweepAfter = unseen.at(-1)!
      await commitConfirmed(ctx, s, run, holder, cp, leaseSeconds, unseen, records, 'sync')
      break
    }

    case 'history': {
      const left = cp.historyBudget - cp.historyCalls
      if (left <= 0 || cp.historyFailed) {
        cp.phase = 'finalize'
        await save({})
        break
      }
      await backfillHistory(ctx, s, run, cp, holder, Math.min(left, DEFAULTS.historyPerStep), leaseSeconds)
      break
    }

    case 'ids': {
      const client = await clientOf(ctx, s, orgId)
      const { org } = await prepare(ctx, s, orgId)
      const batch = cp.ids.slice(0, MAX_IDS_PER_STEP)
      const records = batch.length ? await client.getDealsByIds(batch, dealFields(org.multiCurrency)) : []
      cp.ids = cp.ids.slice(MAX_IDS_PER_STEP)
      if (!cp.ids.length) cp.phase = 'finalize'
      // Watch callbacks are hints, a "delete" too: a named deal goes only when Zoho, asked by id, no
      // longer returns it.
      await commitConfirmed(ctx, s, run, holder, cp, leaseSeconds, batch, records, 'watch')
      break
    }

    case 'finalize': {
      await timed('reprice', async () => {
        const newest = cp.pricedWith ? await newestSetInfo(ctx.db) : null
        // A newer set arrived mid-run from elsewhere: open deals this run wrote carry an older one.
        const repriceOpen = Boolean(newest && newest.fetchedAt > cp.pricedWith!)
        // Repricing moves deals of any closing month: the refresh below covers the whole org. Stored
        // first, so that a crash before the refresh does not forget it.
        if (repriceOpen || s.storedWeeks.size) await touchedWholeOrg(ctx.db, run.id)
        // Historical sets this session fetched also serve closed deals stored before it.
        await repriceClosedDealsOfOrg(ctx.db, orgId, [...s.storedWeeks])
        if (repriceOpen) {
          const { org } = await prepare(ctx, s, orgId)
          await repriceOpenDeals(ctx.db, await loadRateBook(ctx.db, org.baseCurrency), orgId)
        }
      })
      // Before the run is marked succeeded: a run that succeeded has its writes in the rollup
      // (the next run's refresh of its own months relies on it).
      await timed('rollups', () => refreshRollupsAfterSync(ctx.db, orgId, run.id, ctx.logger))
      await inTx(ctx, s, async (tx) => {
        await commit(tx, run, holder, cp, s, {}, leaseSeconds)
        if (cp.kind !== 'ids') {
          // Deleted cursor: the newest deletion seen; after a full pass, its start (minus 5 minutes of
          // clock skew, since deletions are listed on Zoho's clock).
          // A deleted list it could not read to the end moves no cursor: the full sync due next
          // sets it.
          const deletedNext =
            cp.kind === 'full'
              ? iso(new Date(ms(cp.sweepBefore!) - 5 * 60_000))
              : cp.deletedOverflow
                ? null
                : (cp.maxDeleted ?? null)
          await tx.execute(sql`
            update sync_state set
              modified_cursor = greatest(modified_cursor, ${cp.maxModified}::timestamptz),
              deleted_cursor = ${cp.kind === 'full' ? sql`${deletedNext}::timestamptz` : sql`greatest(deleted_cursor, ${deletedNext}::timestamptz)`},
              last_success_at = now(),
              last_full_sync_at = ${cp.kind === 'full' ? sql`now()` : sql`last_full_sync_at`},
              full_sync_due = ${cp.kind === 'full' ? false : sql`full_sync_due or ${Boolean(cp.deletedOverflow)}`}
            where org_id = ${orgId}`)
        }
        await tx.execute(sql`update sync_runs set status = 'succeeded', phase = 'done', finished_at = now(),
          error = null where id = ${run.id}`)
        await releaseLease(tx, orgId, holder)
      })
      return { done: true, phase: 'finalize' }
    }
  }
  return { done: false, phase: cp.phase }
}

/**
 * The Stage_History fields the newest run that read history settled on, after Zoho refused some
 * (undefined: none refused), limited to the ones we know how to read.
 */
async function rememberedHistoryFields(db: Db, orgId: string): Promise<string[] | undefined> {
  const [r] = await query<{ f: unknown }>(
    db,
    sql`select checkpoint->'historyFields' as f from sync_runs
        where org_id = ${orgId} and kind <> 'ids' and coalesce((checkpoint->>'historyCalls')::int, 0) > 0
        order by started_at desc limit 1`,
  )
  const f = typeof r?.f === 'string' ? (JSON.parse(r.f) as unknown) : r?.f
  if (!Array.isArray(f)) return undefined
  const known = f.filter((x): x is string => (STAGE_HISTORY_FIELDS as readonly string[]).includes(x))
  return MINIMAL_STAGE_HISTORY_FIELDS.every((m) => known.includes(m)) ? known : undefined
}

/** Stage_History backfill for open and recently closed deals: bounded per run, resumable. */
async function backfillHistory(
  ctx: SyncContext,
  s: SyncSession,
  run: RunRow,
  cp: Checkpoint,
  holder: string,
  n: number,
  leaseSeconds: number,
) {
  const orgId = run.org_id
  const deals = await query<{ id: string; stage: string }>(
    ctx.db,
    sql`select id, stage from deals where org_id = ${orgId} and history_backfilled_at is null
          and (state = 'open' or (state in ('won', 'lost')
               and closing_date >= current_date - ${DEFAULTS.historyRecentDays}::int))
        order by modified_time desc limit ${n}`,
  )
  if (!deals.length) {
    cp.phase = 'finalize'
    await inTx(ctx, s, (tx) => commit(tx, run, holder, cp, s, {}, leaseSeconds).then(() => {}))
    return
  }
  const client = await clientOf(ctx, s, orgId)
  const { stages } = await prepare(ctx, s, orgId)
  const rows: {
    deal_id: string
    stage: string
    entered_at: string
    amount: string | null
    probability: number | null
    closing_date: string | null
    zoho_id: string
  }[] = []
  let calls = 0
  const gone: string[] = []
  // A full pass asks for every field again (an org may add one back): one refused call a week.
  if (cp.kind !== 'full') cp.historyFields ??= await rememberedHistoryFields(ctx.db, orgId)
  for (const d of deals) {
    try {
      let history
      let fields: readonly string[] = cp.historyFields ?? STAGE_HISTORY_FIELDS
      for (;;) {
        try {
          calls++
          history = await client.getStageHistory(d.id, fields)
          break
        } catch (e) {
          // An org without one of the fields we ask for (their names are not documented): the
          // fields it has, instead of no history at all.
          const narrower = narrowerHistoryFields(e, fields)
          if (!narrower) throw e
          ctx.logger.warn('Stage_History refused a field; retrying without it', {
            orgId,
            code: (e as ZohoApiError).code,
            refused: fields.filter((f) => !narrower.includes(f)),
          })
          fields = narrower
        }
      }
      // Kept for this run and the next ones once Zoho answered it: a narrower list refused as well
      // (a hidden list refusing whatever is asked) says nothing about the org's fields.
      if (fields !== (cp.historyFields ?? STAGE_HISTORY_FIELDS)) cp.historyFields = [...fields]
      for (const h of history)
        rows.push({
          deal_id: d.id,
          stage: stages.get(h.Stage)?.display ?? h.Stage,
          entered_at: (typeof h.Created_Time === 'string' && h.Created_Time) || h.Modified_Time,
          amount: h.Amount ?? null,
          probability: h.Probability ?? null,
          closing_date: h.Close_Date ?? null,
          zoho_id: h.id,
        })
    } catch (e) {
      if (isDealGone(e)) {
        // Deleted in Zoho since the deals pass: no history to read, the others still have theirs.
        // It counts as backfilled (marked with the batch below), so no later step or run asks
        // again; the row itself goes with the next run's deleted list (the deletion is newer than
        // this run's deleted cursor) or a full sync's sweep, and a deal restored from the recycle
        // bin comes back through the deals pass.
        gone.push(d.id)
        continue
      }
      if (e instanceof ZohoApiError && e.status < 500 && e.status !== 429 && e.status !== 401) {
        // The related list is hidden or not permitted in this org: stop backfilling this run.
        ctx.logger.warn('Stage_History unavailable; backfill skipped', { orgId, code: e.code })
        cp.historyFailed = true
        break
      }
      throw e
    }
  }
  if (gone.length && !cp.historyFailed) {
    // Marking them done without history is for good: Zoho, asked by id (as the sweep does), must
    // confirm they are gone. One it still returns means the refusal was not about the deal (a
    // hidden list, say): the backfill stops for this run, as for any other refusal. (A Deals call,
    // counted in the run's calls, not in its Stage_History budget.)
    const still = await client.getDealsByIds(gone, []).catch((e: unknown) => {
      if (e instanceof ZohoApiError && [400, 403, 404].includes(e.status)) return []
      throw e
    })
    if (still.length) {
      ctx.logger.warn('Stage_History refused deals Zoho still has; backfill skipped', { orgId })
      cp.historyFailed = true
    } else
      ctx.logger.info('Stage_History: deals deleted in Zoho since the deals pass; skipped', { orgId, gone })
  }
  const done = cp.historyFailed ? [] : deals.map((d) => d.id)
  cp.historyCalls += calls
  await inTx(ctx, s, async (tx) => {
    if (rows.length)
      await tx.execute(sql`
        insert into stage_history (org_id, deal_id, stage, entered_at, amount, probability, closing_date, source, zoho_id)
        select distinct on (x.deal_id, x.entered_at, x.stage)
          ${orgId}, x.deal_id, x.stage, x.entered_at, x.amount, x.probability, x.closing_date, 'zoho', x.zoho_id
        from jsonb_to_recordset(${jsonParam(rows)}) as x(deal_id text, stage text, entered_at timestamptz,
          amount numeric, probability smallint, closing_date date, zoho_id text)
        order by x.deal_id, x.entered_at, x.stage, x.zoho_id desc
        -- A change our sync already observed at the same moment: Zoho's row is the authority.
        on conflict (org_id, deal_id, entered_at, stage) do update set source = 'zoho', zoho_id = excluded.zoho_id,
          amount = excluded.amount, probability = excluded.probability, closing_date = excluded.closing_date`)
    if (done.length)
      await tx.execute(sql`
        with ids as (select jsonb_array_elements_text(${jsonParam(done)}) as id),
        zoho as (
          select h.deal_id, max(h.entered_at) as last_at from stage_history h join ids on h.deal_id = ids.id
          where h.org_id = ${orgId} and h.source = 'zoho' group by h.deal_id
        ),
        superseded as (
          delete from stage_history h using zoho
          where h.org_id = ${orgId} and h.deal_id = zoho.deal_id and h.source <> 'zoho' and h.entered_at <= zoho.last_at
          returning 1
        ),
        -- The deal entered its current stage at the first row of its last run of that stage (Zoho
        -- may write a row for an edit that kept the stage), rows read by display value.
        keyed as (
          select h.deal_id, coalesce(k.display_value, h.stage) as stage, h.entered_at
          from stage_history h join ids on h.deal_id = ids.id
          left join (${stageKeys(orgId)}) k on k.key = h.stage
          where h.org_id = ${orgId}
        ),
        runs as (
          select deal_id, stage, entered_at,
                 lag(stage) over (partition by deal_id order by entered_at, stage) as prev
          from keyed
        ),
        entered as (
          select distinct on (deal_id) deal_id, stage, entered_at from runs
          where prev is distinct from stage
          order by deal_id, entered_at desc
        ),
        pushes as (
          select deal_id, count(*) filter (where closing_date > prev)::int as n from (
            select h.deal_id, h.closing_date, lag(h.closing_date) over (partition by h.deal_id order by h.entered_at) as prev
            from stage_history h join ids on h.deal_id = ids.id where h.org_id = ${orgId} and h.source = 'zoho'
          ) t group by deal_id
        )
        update deals d set history_backfilled_at = now(),
          stage_entered_at = case when e.stage = d.stage then e.entered_at else d.stage_entered_at end,
          closing_push_count = greatest(d.closing_push_count, coalesce(p.n, 0))
        from ids left join entered e on e.deal_id = ids.id left join pushes p on p.deal_id = ids.id
        where d.org_id = ${orgId} and d.id = ids.id`)
    await commit(tx, run, holder, cp, s, { historyCalls: calls }, leaseSeconds)
  })
}

// ------------------------------------------------------------------------------------- driving

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

/**
 * Drives a run's steps until it finishes or the budget is spent (then it stops at a checkpoint and
 * frees the lease, so the next invocation continues at once). Zoho calls running out (pauseReason)
 * stop it the same way, with the reason in the run's `error`. Transient Zoho failures that outlast
 * the client's own retries retry the step (idempotent: nothing was committed); anything else fails
 * the run, whose checkpoint the next run continues from.
 */
/** Why an ids (Watch) run ended unfinished: never resumed, its deals reach the next incremental. */
export const IDS_RUN_CUT_SHORT =
  'Stopped at its time budget; the next incremental sync reads the deals it did not'
const IDS_RUN_ABANDONED = 'Its process ended before it finished; the next incremental sync reads its deals'
const RUN_OUTLIVED_DELETED_LIST = 'Left unfinished longer than Zoho lists deletions; replaced by a full sync'
const RUN_FULL_PASS_DUE = 'Left unfinished until the weekly full sync came due; replaced by a full sync'

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
    records: number
    deletions: number
    api_calls: number
    history_calls: number
  }>(
    ctx.db,
    sql`select kind, pages, records, deletions, api_calls, history_calls from sync_runs where id = ${started.runId}`,
  )
  return {
    orgId,
    runId: started.runId,
    status: outcome.status,
    kind: run?.kind,
    pages: run?.pages,
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
