import type { Config } from '../config'
import type { Db } from '../db/client'
import type { Logger } from '../observability/logger'
import {
  closingDatesNeedingSets,
  ensureRateSets,
  loadRateBook,
  repriceEstimatedClosedDeals,
  repriceEveryBase,
  rebase,
  repriceOpenDeals,
  type RateBook,
} from './pricing'
import { FxProviderError } from './provider'
import {
  isRefreshDue,
  newestSetInfo,
  MAX_PROVIDER_CALLS_PER_RUN,
  orgBaseCurrency,
  providerFor,
  refreshLatestOnce,
  type LatestRefresh,
  type RateSetInfo,
} from './store'
import { refreshAllAnalyticsRollups } from '../analytics/rollup'

export interface FxRunContext {
  config: Config
  db: Db
  logger: Logger
  fetch: typeof fetch
  now(): Date
  sleep?: (ms: number) => Promise<void>
  /** Provider calls this run may make, latest and historical together. */
  maxCalls?: number
}

export interface FxRunResult {
  /**
   * The set just fetched; the newest stored set when this run fetched none (not due with onlyIfDue,
   * or another refresh was running); null when the refresh failed (the newest stored set stays in use).
   */
  set: RateSetInfo | null
  /** This run fetched the latest set. */
  refreshed: boolean
  /** Another refresh was running: this run called nothing and re-priced nothing (that one does). */
  running: boolean
  calls: number
  repricedOpen: number
  repricedClosed: number
  /** The deals of opts.orgId (the admin who asked for the run) among the repriced ones, if given. */
  org: { repricedOpen: number; repricedClosed: number } | null
  error: FxProviderError | null
}

/** Reprice one org in its own base first, so that its own share of the run can be reported. */
async function repriceOrg(
  ctx: FxRunContext,
  book: RateBook,
  reprice: (db: FxRunContext['db'], book: RateBook, orgId: string) => Promise<number>,
  orgId: string | undefined,
): Promise<number> {
  if (orgId === undefined) return 0
  const base = (await orgBaseCurrency(ctx.db, orgId)) ?? ctx.config.BASE_CURRENCY
  return reprice(ctx.db, rebase(book, base), orgId)
}

/**
 * One FX run (the scheduled job and the admin's refresh): fetch the latest set, re-price the deals
 * that take the newest set (every org, each in its orgs.base_currency: sets are global), then
 * backfill, within the call budget, the historical sets that closed deals without their own week's
 * set need, and re-price those deals from whatever sets are stored (also when the provider failed).
 * With opts.orgId, that org's own counts are reported apart (`org`): the totals cover every org.
 * While another refresh runs (any process), this run does none of it: see refreshLatestOnce.
 */
export async function runFx(
  ctx: FxRunContext,
  /** onlyIfDue: only when the newest set is CURRENCY_CACHE_DAYS old (else the scheduled run's weekly refresh). */
  opts: { ignoreRefusal?: boolean; orgId?: string; onlyIfDue?: boolean } = {},
): Promise<FxRunResult> {
  const due = (n: RateSetInfo | null) => isRefreshDue(n, ctx.now(), ctx.config.CURRENCY_CACHE_DAYS)
  /** Nothing fetched, nothing re-priced: the newest stored set is reported. */
  const unchanged = async (running: boolean): Promise<FxRunResult> => ({
    set: await newestSetInfo(ctx.db),
    refreshed: false,
    running,
    calls: 0,
    repricedOpen: 0,
    repricedClosed: 0,
    org: opts.orgId === undefined ? null : { repricedOpen: 0, repricedClosed: 0 },
    error: null,
  })
  // Checked before claiming the refresh too: most calls (every `npm run sync`) find it not due.
  if (opts.onlyIfDue && !due(await newestSetInfo(ctx.db))) return unchanged(false)
  const budget = ctx.maxCalls ?? MAX_PROVIDER_CALLS_PER_RUN
  const provider = providerFor(ctx, budget)
  let latest: LatestRefresh = { set: null, refreshed: false, running: false }
  let error: FxProviderError | null = null
  try {
    // One refresh at a time across processes. The scheduled run leaves the work to one already
    // running; onlyIfDue (the admin's refresh) waits for it (up to 30 s, an HTTP request) and then
    // reports the set it stored.
    latest = await refreshLatestOnce(ctx, provider, opts.onlyIfDue ? { due, waitSeconds: 30 } : {})
  } catch (err) {
    if (!(err instanceof FxProviderError)) throw err
    error = err
  }
  const { set, refreshed, running } = latest
  if (!error && !refreshed) return unchanged(running)
  // Each org is priced in its own orgs.base_currency, the currency its figures are labelled with
  // (the sync prices in it too); the book's own base only picks the default view of the sets.
  const book = await loadRateBook(ctx.db, ctx.config.BASE_CURRENCY)
  const ownOpen = await repriceOrg(ctx, book, repriceOpenDeals, opts.orgId)
  const repricedOpen = ownOpen + (await repriceEveryBase(ctx.db, book, repriceOpenDeals))
  let calls = provider.calls
  if (!error && calls < budget) {
    const dates = await closingDatesNeedingSets(ctx.db, book)
    if (dates.length)
      calls += await ensureRateSets(
        { ...ctx, maxCalls: budget - calls, ignoreRefusal: opts.ignoreRefusal },
        dates,
        book,
      )
  }
  // Always, even when the provider is down: sets stored since the last run (a sync's historical
  // fetches, an earlier partial backfill) must still reach the closed deals that wait for them.
  const ownClosed = await repriceOrg(ctx, book, repriceEstimatedClosedDeals, opts.orgId)
  const repricedClosed = ownClosed + (await repriceEveryBase(ctx.db, book, repriceEstimatedClosedDeals))
  await refreshAllAnalyticsRollups(ctx.db)
  const org = opts.orgId === undefined ? null : { repricedOpen: ownOpen, repricedClosed: ownClosed }
  return { set, refreshed, running, calls, repricedOpen, repricedClosed, org, error }
}

/** The scheduled job (JOBS.fx): never throws for provider trouble; the status page reports it. */
export async function fxJob(ctx: FxRunContext): Promise<Record<string, unknown>> {
  const r = await runFx(ctx)
  return {
    week: r.set?.weekDate ?? null,
    calls: r.calls,
    repricedOpen: r.repricedOpen,
    repricedClosed: r.repricedClosed,
    // Another process was refreshing: it stores the set and re-prices.
    ...(r.running ? { alreadyRunning: true } : {}),
    ...(r.error ? { error: r.error.message } : {}),
  }
}
