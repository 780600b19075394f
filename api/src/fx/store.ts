import { sql } from 'drizzle-orm'
import type { Config } from '../config'
import { query, type Db } from '../db/client'
import type { Logger } from '../observability/logger'
import { createCurrencyFreaksClient, FxProviderError, PROVIDER, type FxProvider } from './provider'
import { daysBetween, mondayOf, utcDate } from './week'

/*
 * The rate store: weekly sets keyed by their Monday (UTC), always base USD, global to every org
 * (rates are public data). A "latest" set is the week's set as fetched during that week; a later
 * refresh in the same week replaces it. A "historical" set is fetched once for a past Monday and
 * kept forever. The provider's health lives in fx_provider_status for the status page.
 */

export type RateSetKind = 'latest' | 'historical'

export interface RateSetInfo {
  id: number
  /** The Monday of the set's week, YYYY-MM-DD. */
  weekDate: string
  base: string
  source: string
  /** The provider's timestamp for the quotes (ISO), when it sent one. */
  providerDate: string | null
  fetchedAt: string
  kind: RateSetKind
}

export interface RateSet extends RateSetInfo {
  /** Units of each currency per 1 USD, exact decimal strings. */
  rates: Record<string, string>
}

/** What every FX operation needs; `provider` and `sleep` are injectable for tests. */
export interface FxContext {
  db: Db
  config: Config
  fetch: typeof fetch
  logger: Logger
  now(): Date
  sleep?: (ms: number) => Promise<void>
  /** Provider calls allowed in this run (default MAX_PROVIDER_CALLS_PER_RUN). */
  maxCalls?: number
}

/** Provider calls one run may make (Currency Freaks' free plan allows 1,000 a month). */
export const MAX_PROVIDER_CALLS_PER_RUN = 12

const iso = (column: string) =>
  sql.raw(`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`)

const SET_COLUMNS = sql`s.id, s.week_date::text as "weekDate", s.base, s.source,
  ${iso('s.provider_date')} as "providerDate", ${iso('s.fetched_at')} as "fetchedAt", s.kind`

export function providerFor(ctx: FxContext, maxCalls?: number): FxProvider {
  return createCurrencyFreaksClient({
    url: ctx.config.CURRENCY_API_URL,
    apiKey: ctx.config.CURRENCY_API_KEY,
    fetch: ctx.fetch,
    logger: ctx.logger,
    sleep: ctx.sleep,
    maxCalls,
  })
}

/** Every stored set with its rates, oldest week first. */
export async function loadRateSets(db: Db): Promise<RateSet[]> {
  const sets = await query<RateSetInfo>(
    db,
    sql`select ${SET_COLUMNS} from fx_rate_sets s where s.base = 'USD' order by s.week_date`,
  )
  if (!sets.length) return []
  const rows = await query<{ setId: number; currency: string; rate: string }>(
    db,
    sql`select r.set_id as "setId", r.currency, r.rate::text as rate from fx_rates r
        join fx_rate_sets s on s.id = r.set_id where s.base = 'USD'`,
  )
  const byId = new Map(sets.map((s) => [s.id, { ...s, rates: {} as Record<string, string> }]))
  for (const r of rows) byId.get(r.setId)!.rates[r.currency] = r.rate
  return [...byId.values()]
}

/** Every stored set without its rates. */
export async function listRateSets(db: Db): Promise<RateSetInfo[]> {
  return query<RateSetInfo>(
    db,
    sql`select ${SET_COLUMNS} from fx_rate_sets s where s.base = 'USD' order by s.week_date`,
  )
}

export async function newestSetInfo(db: Db): Promise<RateSetInfo | null> {
  const [row] = await query<RateSetInfo>(
    db,
    sql`select ${SET_COLUMNS} from fx_rate_sets s where s.base = 'USD' order by s.week_date desc limit 1`,
  )
  return row ?? null
}

/**
 * The org's reporting currency as its deals are priced (orgs.base_currency), not the config's,
 * which the org row follows only from its next metadata refresh. Null before the first one.
 */
export async function orgBaseCurrency(db: Db, orgId: string): Promise<string | null> {
  const [org] = await query<{ base: string }>(
    db,
    sql`select base_currency as base from orgs where id = ${orgId}`,
  )
  return org?.base ?? null
}

/** The rates of one set. */
export async function loadRates(db: Db, setId: number): Promise<Record<string, string>> {
  const rows = await query<{ currency: string; rate: string }>(
    db,
    sql`select currency, rate::text as rate from fx_rates where set_id = ${setId}`,
  )
  return Object.fromEntries(rows.map((r) => [r.currency, r.rate]))
}

/**
 * Store a set. "latest" replaces the same week's latest set (never a historical one); "historical"
 * is written once and never replaced. Returns the set as stored.
 */
export async function saveRateSet(
  db: Db,
  input: {
    weekDate: string
    kind: RateSetKind
    providerDate: Date | null
    fetchedAt: Date
    rates: Record<string, string>
  },
): Promise<RateSet> {
  const rows = Object.entries(input.rates).map(([currency, rate]) => ({ currency, rate }))
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db
    const [written] = await query<{ id: number }>(
      t,
      sql`insert into fx_rate_sets (week_date, base, source, provider_date, fetched_at, kind)
          values (${input.weekDate}, 'USD', ${PROVIDER}, ${input.providerDate?.toISOString() ?? null},
                  ${input.fetchedAt.toISOString()}, ${input.kind})
          on conflict (week_date, base) do update
            set source = excluded.source, provider_date = excluded.provider_date,
                fetched_at = excluded.fetched_at
            where fx_rate_sets.kind = 'latest' and excluded.kind = 'latest'
          returning id`,
    )
    if (written) {
      await t.execute(sql`delete from fx_rates where set_id = ${written.id}`)
      await t.execute(
        sql`insert into fx_rates (set_id, currency, rate)
            select ${written.id}, x.currency, x.rate
            from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(currency text, rate numeric)`,
      )
    }
    const [info] = await query<RateSetInfo>(
      t,
      sql`select ${SET_COLUMNS} from fx_rate_sets s where s.week_date = ${input.weekDate} and s.base = 'USD'`,
    )
    return { ...info!, rates: await loadRates(t, info!.id) }
  })
}

// ----------------------------------------------------------------------------- provider status

export interface ProviderStatus {
  lastAttemptAt: string | null
  lastSuccessAt: string | null
  reachable: boolean | null
  lastError: string | null
  historicalRefusedAt: string | null
  calls: number
}

export async function providerStatus(db: Db): Promise<ProviderStatus> {
  const [row] = await query<ProviderStatus>(
    db,
    sql`select ${iso('last_attempt_at')} as "lastAttemptAt", ${iso('last_success_at')} as "lastSuccessAt",
          reachable, last_error as "lastError", ${iso('historical_refused_at')} as "historicalRefusedAt", calls
        from fx_provider_status where provider = ${PROVIDER}`,
  )
  return (
    row ?? {
      lastAttemptAt: null,
      lastSuccessAt: null,
      reachable: null,
      lastError: null,
      historicalRefusedAt: null,
      calls: 0,
    }
  )
}

/** Record the outcome of provider calls: success, an error, or the plan refusing historical rates. */
export async function recordProviderResult(
  db: Db,
  now: Date,
  result: { calls: number; error?: unknown; historicalRefused?: boolean },
): Promise<void> {
  const budgetOnly = result.error instanceof FxProviderError && result.error.kind === 'budget'
  const err = budgetOnly ? undefined : result.error
  if (result.calls === 0 && !err) return
  const e = err instanceof FxProviderError ? err : null
  const reachable = err ? (e ? e.reachable : false) : true
  const message = err ? (err instanceof Error ? err.message : String(err)) : null
  const at = now.toISOString()
  const refused = result.historicalRefused ? at : null
  await db.execute(
    sql`insert into fx_provider_status as p (provider, last_attempt_at, last_success_at, reachable, last_error,
          historical_refused_at, calls)
        values (${PROVIDER}, ${at}, ${err ? null : at}, ${reachable}, ${message}, ${refused}, ${result.calls})
        on conflict (provider) do update set
          last_attempt_at = excluded.last_attempt_at,
          last_success_at = coalesce(excluded.last_success_at, p.last_success_at),
          reachable = excluded.reachable,
          last_error = excluded.last_error,
          historical_refused_at = coalesce(excluded.historical_refused_at, p.historical_refused_at),
          calls = p.calls + excluded.calls`,
  )
}

// ----------------------------------------------------------------------------------- refreshing

/** Due when there is no set, or the newest was fetched CURRENCY_CACHE_DAYS or more days ago. */
export function isRefreshDue(newest: Pick<RateSetInfo, 'fetchedAt'> | null, now: Date, cacheDays: number) {
  return !newest || daysBetween(new Date(newest.fetchedAt), now) >= cacheDays
}

/**
 * Stale: no set; the newest set is older than CURRENCY_CACHE_DAYS; or the last attempt to reach the
 * provider failed and the newest set is from an earlier week.
 */
export function isStale(
  newest: Pick<RateSetInfo, 'fetchedAt' | 'weekDate'> | null,
  status: Pick<ProviderStatus, 'reachable'>,
  now: Date,
  cacheDays: number,
): boolean {
  if (!newest) return true
  if (daysBetween(new Date(newest.fetchedAt), now) > cacheDays) return true
  return status.reachable === false && newest.weekDate < mondayOf(utcDate(now))
}

/**
 * Fetch the latest quotes and store them as this week's set. Records the outcome; rethrows provider
 * errors (callers keep using the newest stored set).
 */
export async function refreshLatest(ctx: FxContext, provider = providerFor(ctx)): Promise<RateSet> {
  const before = provider.calls
  try {
    const quotes = await provider.latest()
    const now = ctx.now()
    const set = await saveRateSet(ctx.db, {
      weekDate: mondayOf(utcDate(now)),
      kind: 'latest',
      providerDate: quotes.providerDate,
      fetchedAt: now,
      rates: quotes.rates,
    })
    await recordProviderResult(ctx.db, ctx.now(), { calls: provider.calls - before })
    ctx.logger.info('fx rates refreshed', {
      week: set.weekDate,
      currencies: Object.keys(quotes.rates).length,
    })
    return set
  } catch (err) {
    await recordProviderResult(ctx.db, ctx.now(), { calls: provider.calls - before, error: err })
    ctx.logger.warn('fx refresh failed', { error: (err as Error).message })
    throw err
  }
}

/** Fetch and store the historical set of one Monday (kept forever). */
export async function fetchHistorical(
  ctx: FxContext,
  provider: FxProvider,
  monday: string,
): Promise<RateSet> {
  const before = provider.calls
  try {
    const quotes = await provider.historical(monday)
    const set = await saveRateSet(ctx.db, {
      weekDate: monday,
      kind: 'historical',
      providerDate: quotes.providerDate,
      fetchedAt: ctx.now(),
      rates: quotes.rates,
    })
    await recordProviderResult(ctx.db, ctx.now(), { calls: provider.calls - before })
    return set
  } catch (err) {
    const refused = err instanceof FxProviderError && err.kind === 'plan'
    await recordProviderResult(ctx.db, ctx.now(), {
      calls: provider.calls - before,
      error: err,
      historicalRefused: refused,
    })
    throw err
  }
}

export { FxProviderError }

// ------------------------------------------------------------------------- one refresh at a time

/*
 * "Is a refresh due → call the provider → store the set" runs in one process at a time (the cron
 * job, an admin's refresh, a sync page, on any Node process or Worker isolate), so that refreshes
 * started together spend one call of the shared monthly quota, not one each. The claim is a row of
 * fx_refresh_claims. Not a transaction-scoped advisory lock: that would keep a transaction open over
 * the provider call, and PGlite runs one transaction at a time, every other query of the process
 * waiting behind it. A holder that dies leaves a claim that expires after REFRESH_CLAIM_SECONDS,
 * longer than the provider client's retries can take.
 */
const REFRESH_CLAIM = 'latest'
export const REFRESH_CLAIM_SECONDS = 300
const CLAIM_POLL_MS = 250

async function claimRefresh(db: Db, holder: string): Promise<boolean> {
  const rows = await query(
    db,
    sql`insert into fx_refresh_claims as c (name, holder, claimed_at)
        values (${REFRESH_CLAIM}, ${holder}, now())
        on conflict (name) do update set holder = excluded.holder, claimed_at = excluded.claimed_at
          where c.claimed_at < now() - make_interval(secs => ${REFRESH_CLAIM_SECONDS})
        returning name`,
  )
  return rows.length === 1
}

async function releaseRefresh(db: Db, holder: string): Promise<void> {
  await db.execute(sql`delete from fx_refresh_claims where name = ${REFRESH_CLAIM} and holder = ${holder}`)
}

export interface LatestRefresh {
  /**
   * The set this call fetched (refreshed), or the newest stored set when it was no longer due
   * (another refresh had just stored it); null while another refresh is running.
   */
  set: RateSet | null
  refreshed: boolean
  /** Another refresh held the claim (for longer than this call would wait): nothing was called. */
  running: boolean
}

/**
 * refreshLatest, single-flight across processes. With `due`, the newest stored set is checked
 * again once claimed, so a refresh that lost the race reports the winner's set instead of calling.
 * With `waitSeconds`, a claim held by another refresh is waited for that long (a provider call
 * takes about a second); without, the call gives up at once. Provider errors are rethrown as by
 * refreshLatest.
 */
export async function refreshLatestOnce(
  ctx: FxContext,
  provider: FxProvider,
  opts: { due?: (newest: RateSetInfo | null) => boolean; waitSeconds?: number } = {},
): Promise<LatestRefresh> {
  const holder = crypto.randomUUID()
  const giveUpAt = Date.now() + (opts.waitSeconds ?? 0) * 1000
  while (!(await claimRefresh(ctx.db, holder))) {
    if (Date.now() >= giveUpAt) {
      ctx.logger.info('fx refresh already running elsewhere')
      return { set: null, refreshed: false, running: true }
    }
    await new Promise((r) => setTimeout(r, CLAIM_POLL_MS))
  }
  try {
    const newest = await newestSetInfo(ctx.db)
    if (newest && opts.due && !opts.due(newest))
      return {
        set: { ...newest, rates: await loadRates(ctx.db, newest.id) },
        refreshed: false,
        running: false,
      }
    return { set: await refreshLatest(ctx, provider), refreshed: true, running: false }
  } finally {
    await releaseRefresh(ctx.db, holder)
  }
}
