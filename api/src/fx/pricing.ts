import { sql, type SQL } from 'drizzle-orm'
import {
  approximate,
  convertUnits,
  crossRate,
  currencyExponent,
  decimalToString,
  IDENTITY_RATE,
  isDecimal,
  parseDecimal,
  rateText,
  terminatingDecimal,
  trimDecimal,
  viaHomeRate,
  weightedText,
  type ExactRate,
} from '#shared/money'
import type { Config } from '../config'
import { markRollupsBehind } from '../analytics/rollup'
import { query, type Db } from '../db/client'
import type { Logger } from '../observability/logger'
import { FxProviderError, type FxProvider } from './provider'
import {
  fetchHistorical,
  isRefreshDue,
  loadRateSets,
  orgBaseCurrency,
  MAX_PROVIDER_CALLS_PER_RUN,
  providerFor,
  providerStatus,
  refreshLatestOnce,
  type FxContext,
  type RateSet,
  type RateSetInfo,
} from './store'
import { daysBetween, mondayOf } from './week'

/*
 * Rate choice (DESIGN.md "Which rate set"): an open deal uses the newest set; a won or lost deal
 * with closing date D uses the set for the Monday on or before D, or the newest set when that Monday
 * is later. A closed deal whose Monday has no stored set (the plan refuses historical rates, or this
 * run's call budget is spent) uses the nearest earlier stored set, else the oldest one, flagged
 * 'provider_nearest' and estimated. A currency the provider lacks converts through Zoho's
 * Exchange_Rate into the org's home currency, then home → base by the same set ('zoho'). Otherwise
 * the deal is unpriced (amountSgd null).
 *
 * fx_rate is base units per one unit of the deal currency. It is exact when the fraction terminates
 * (e.g. every USD deal); otherwise 30 significant digits chosen so that
 * roundHalfEven(amount × fx_rate, exponent) reproduces amount_sgd exactly (see rateToDecimal), the
 * exponent being the base currency's minor-unit digits (SGD 2, JPY 0, KWD 3), as amount_sgd is.
 */

export interface BookSet extends RateSet {
  rateOf(currency: string): string | undefined
  /** Exact rates derived from this set, memoised by key (a book prices many deals per rate). */
  memo(key: string, make: () => ExactRate): ExactRate
}

export interface RateBook {
  /**
   * The reporting currency: an org's orgs.base_currency (which the metadata sync keeps equal to
   * BASE_CURRENCY). Repricing writes only orgs with this base; rebase() gives a view in another.
   */
  base: string
  /** The set with the latest week, or null before the first fetch. */
  newest: BookSet | null
  /** Every stored set by its Monday. */
  byWeek: Map<string, BookSet>
  /** When the plan last refused historical rates (ISO), from the provider status. */
  historicalRefusedAt: string | null
  /**
   * Provider calls made through this book. A book lives for one run (a sync run loads one), so
   * ensureRateSets bounds the calls of the whole run, however many pages call it.
   */
  providerCalls: number
  /** Set when the provider failed during this run: no further calls are made through this book. */
  providerFailed: boolean
}

function bookSet(set: RateSet): BookSet {
  const memo = new Map<string, ExactRate>()
  return {
    ...set,
    rateOf: (c) => set.rates[c],
    memo(key, make) {
      let r = memo.get(key)
      if (!r) memo.set(key, (r = make()))
      return r
    },
  }
}

function addToBook(book: RateBook, set: RateSet): void {
  const s = bookSet(set)
  book.byWeek.set(s.weekDate, s)
  if (!book.newest || s.weekDate >= book.newest.weekDate) book.newest = s
}

export async function loadRateBook(db: Db, base: string): Promise<RateBook> {
  const [sets, status] = await Promise.all([loadRateSets(db), providerStatus(db)])
  const book: RateBook = {
    base,
    newest: null,
    byWeek: new Map(),
    historicalRefusedAt: status.historicalRefusedAt,
    providerCalls: 0,
    providerFailed: false,
  }
  for (const set of sets) addToBook(book, set)
  return book
}

/** A book from sets in memory (tests, previews): only weekDate and rates are required. */
export function rateBookFrom(
  base: string,
  sets: (Pick<RateSet, 'weekDate' | 'rates'> & Partial<RateSet>)[],
  historicalRefusedAt: string | null = null,
): RateBook {
  const book: RateBook = {
    base,
    newest: null,
    byWeek: new Map(),
    historicalRefusedAt,
    providerCalls: 0,
    providerFailed: false,
  }
  sets.forEach((s, i) =>
    addToBook(book, {
      id: -(i + 1),
      base: 'USD',
      source: 'memory',
      providerDate: null,
      fetchedAt: new Date(0).toISOString(),
      kind: 'historical',
      ...s,
    }),
  )
  return book
}

// -------------------------------------------------------------------------------------- choice

export interface SetChoice {
  set: BookSet
  /** True when the deal's own week set was not available and a nearby one stands in. */
  estimated: boolean
}

/**
 * The set for a deal among stored sets: open (no closing Monday) → newest; closed → its closing
 * Monday's set, the newest when that Monday is later, else the nearest earlier (or the oldest) set,
 * estimated.
 */
export function pickSet<T extends { weekDate: string }>(
  sets: Iterable<T>,
  closingMonday: string | null,
): { set: T; estimated: boolean } | null {
  let exact: T | undefined
  let newest: T | undefined
  let nearest: T | undefined
  let oldest: T | undefined
  for (const s of sets) {
    if (!newest || s.weekDate > newest.weekDate) newest = s
    if (!oldest || s.weekDate < oldest.weekDate) oldest = s
    if (closingMonday && s.weekDate === closingMonday) exact = s
    if (closingMonday && s.weekDate < closingMonday && (!nearest || s.weekDate > nearest.weekDate))
      nearest = s
  }
  if (!newest) return null
  if (!closingMonday || closingMonday >= newest.weekDate) return { set: newest, estimated: false }
  if (exact) return { set: exact, estimated: false }
  return { set: (nearest ?? oldest)!, estimated: true }
}

export function chooseSet(book: RateBook, closingMonday: string | null): SetChoice | null {
  const newest = book.newest
  if (!newest) return null
  if (!closingMonday || closingMonday >= newest.weekDate) return { set: newest, estimated: false }
  const exact = book.byWeek.get(closingMonday)
  if (exact) return { set: exact, estimated: false }
  return pickSet(book.byWeek.values(), closingMonday)
}

const MONDAYS = new Map<string, string>()
/** mondayOf, memoised (a sync prices many closed deals per closing date). */
function mondayOfDate(date: string): string {
  let monday = MONDAYS.get(date)
  if (monday === undefined) {
    monday = mondayOf(date) // throws on a bad date, which is then not memoised
    if (MONDAYS.size >= 10_000) MONDAYS.clear()
    MONDAYS.set(date, monday)
  }
  return monday
}

/** The Monday whose set a deal needs, or null when it takes the newest set. */
export function closingMondayOf(state: PricingInput['state'], closingDate: string | null): string | null {
  return (state === 'won' || state === 'lost') && closingDate ? mondayOfDate(closingDate) : null
}

export interface RateChoice {
  rate: ExactRate
  fxDate: string | null
  fxSource: 'identity' | 'provider' | 'provider_nearest' | 'zoho'
  fxEstimated: boolean
}

const ZOHO_DIRECT = new Map<string, ExactRate>()
/** 1 ÷ Exchange_Rate when the home currency is the base, memoised (few distinct Zoho rates). */
function zohoToBase(x: string): ExactRate {
  let r = ZOHO_DIRECT.get(x)
  if (!r) {
    if (ZOHO_DIRECT.size > 1000) ZOHO_DIRECT.clear()
    ZOHO_DIRECT.set(x, (r = viaHomeRate(x, IDENTITY_RATE)))
  }
  return r
}

/** The exact rate for a currency in a deal's situation, or null when it cannot be priced. */
export function chooseRate(
  book: RateBook,
  key: {
    currency: string
    zohoExchangeRate: string | null
    homeCurrency: string | null
    closingMonday: string | null
  },
): RateChoice | null {
  const base = book.base
  if (key.currency === base)
    return { rate: IDENTITY_RATE, fxDate: null, fxSource: 'identity', fxEstimated: false }
  const choice = chooseSet(book, key.closingMonday)
  const baseQuote = choice?.set.rateOf(base)
  const quote = choice?.set.rateOf(key.currency)
  if (choice && baseQuote && quote)
    return {
      rate: choice.set.memo(key.currency, () => crossRate(baseQuote, quote)),
      fxDate: choice.set.weekDate,
      fxSource: choice.estimated ? 'provider_nearest' : 'provider',
      fxEstimated: choice.estimated,
    }
  // The provider lacks the currency: Zoho's per-record rate into the home currency, then home → base.
  const x = key.zohoExchangeRate
  const home = key.homeCurrency
  if (!x || !home || !isDecimal(x) || !/[1-9]/.test(x) || x.trim().startsWith('-')) return null
  // With no provider set at all (first sync while the provider is down) Zoho's rate only stands in
  // for a provider rate the deal may well have: flag it estimated so repricing picks the deal up
  // once sets exist. With sets stored, the provider lacks the currency: Zoho's rate is the rule.
  if (home === base) return { rate: zohoToBase(x), fxDate: null, fxSource: 'zoho', fxEstimated: !choice }
  const homeQuote = choice?.set.rateOf(home)
  if (!choice || !baseQuote || !homeQuote) return null
  return {
    rate: choice.set.memo(`${home}:${x}`, () =>
      viaHomeRate(
        x,
        choice.set.memo(home, () => crossRate(baseQuote, homeQuote)),
      ),
    ),
    fxDate: choice.set.weekDate,
    fxSource: 'zoho',
    fxEstimated: choice.estimated,
  }
}

// --------------------------------------------------------------------------------------- pricing

export interface PricingInput {
  amount: string | null
  currency: string
  zohoExchangeRate: string | null
  homeCurrency: string
  state: 'open' | 'won' | 'lost' | 'unknown'
  closingDate: string | null
  /** Effective: the deal's own, else its stage's default. */
  probability: number | null
}

export interface Pricing {
  amountSgd: string | null
  /**
   * Exact (not rounded, so sums round once): amountSgd × probability ÷ 100, a missing probability
   * counting as 0 (as the analytics sums do); null when unpriced.
   */
  weightedSgd: string | null
  /** Base units per one deal-currency unit, as used (see the header comment). */
  fxRate: string | null
  /** The rate set's Monday; null for identity and for Zoho rates into a home currency equal to base. */
  fxDate: string | null
  fxSource: 'identity' | 'provider' | 'provider_nearest' | 'zoho' | null
  fxEstimated: boolean
}

export const UNPRICED: Pricing = {
  amountSgd: null,
  weightedSgd: null,
  fxRate: null,
  fxDate: null,
  fxSource: null,
  fxEstimated: false,
}

const ZERO = { units: 0n, scale: 0 } as const

export function priceDeal(book: RateBook, input: PricingInput): Pricing {
  const choice = chooseRate(book, {
    currency: input.currency,
    zohoExchangeRate: input.zohoExchangeRate,
    homeCurrency: input.homeCurrency,
    closingMonday: closingMondayOf(input.state, input.closingDate),
  })
  if (!choice) return UNPRICED
  // one parse per deal; the value stays in bigint units until it is formatted once
  const exp = currencyExponent(book.base)
  const amount = input.amount == null ? ZERO : parseDecimal(input.amount)
  const units = convertUnits(amount, choice.rate, exp)
  const value = { units, scale: exp }
  return {
    amountSgd: decimalToString(value),
    weightedSgd: weightedText(value, input.probability ?? 0, exp),
    fxRate: rateText(choice.rate, amount, exp, units),
    fxDate: choice.fxDate,
    fxSource: choice.fxSource,
    fxEstimated: choice.fxEstimated,
  }
}

// ------------------------------------------------------------------------------- fetching sets

export type EnsureContext = {
  db: Db
  config: Config
  fetch: typeof fetch
  logger: Logger
  now(): Date
} & Partial<Pick<FxContext, 'sleep' | 'maxCalls'>> & {
    /** Try historical rates even if the plan refused them recently (admin refresh). */
    ignoreRefusal?: boolean
  }

/**
 * Fetch (bounded) and store the historical sets these closing dates need; returns how many calls
 * it made. Also refreshes the latest set first when there is none or it is CURRENCY_CACHE_DAYS old,
 * and then re-prices open deals of every org. The book is updated in place.
 *
 * Bounded per run: the calls made through one book never exceed MAX_PROVIDER_CALLS_PER_RUN (an
 * explicit ctx.maxCalls bounds this call instead), and after a provider failure the book makes no
 * more calls. Provider
 * failures are logged and recorded, never thrown: pricing carries on with the sets stored.
 */
export async function ensureRateSets(
  ctx: EnsureContext,
  closingDates: string[],
  book: RateBook,
): Promise<number> {
  const budget = ctx.maxCalls ?? MAX_PROVIDER_CALLS_PER_RUN - book.providerCalls
  if (book.providerFailed || budget <= 0) return 0
  const provider = providerFor(ctx, budget)
  try {
    await fetchNeededSets(ctx, provider, closingDates, book)
  } finally {
    book.providerCalls += provider.calls
  }
  return provider.calls
}

async function fetchNeededSets(
  ctx: EnsureContext,
  provider: FxProvider,
  closingDates: string[],
  book: RateBook,
): Promise<void> {
  const due = (newest: Pick<RateSetInfo, 'fetchedAt'> | null) =>
    isRefreshDue(newest, ctx.now(), ctx.config.CURRENCY_CACHE_DAYS)
  if (due(book.newest)) {
    try {
      // Single-flight: while another process refreshes, this page goes on with the stored sets
      // (a later page takes the new one); one that has just stored a set gives it without a call.
      const { set } = await refreshLatestOnce(ctx, provider, { due })
      if (set && set.fetchedAt !== book.newest?.fetchedAt) {
        addToBook(book, set)
        await repriceEveryBase(ctx.db, book, repriceOpenDeals)
        // Every org's open deals moved, in one org's sync: the others' rollups are behind them.
        await markRollupsBehind(ctx.db, null)
      }
    } catch (err) {
      if (!(err instanceof FxProviderError)) throw err
      // keep using the newest stored set; the status page reports it stale
      if (err.kind !== 'budget') book.providerFailed = true
      return
    }
  }
  const newest = book.newest
  if (!newest) return
  const refusedRecently =
    !ctx.ignoreRefusal &&
    book.historicalRefusedAt !== null &&
    daysBetween(new Date(book.historicalRefusedAt), ctx.now()) < ctx.config.CURRENCY_CACHE_DAYS
  if (refusedRecently) return
  const needed = [...new Set(closingDates.filter(Boolean).map(mondayOf))]
    .filter((m) => m < newest.weekDate && !book.byWeek.has(m))
    .sort()
    .reverse() // most recent weeks first: they matter most to current figures
  for (const monday of needed) {
    try {
      addToBook(book, await fetchHistorical(ctx, provider, monday))
    } catch (err) {
      if (!(err instanceof FxProviderError)) throw err
      if (err.kind === 'plan') {
        book.historicalRefusedAt = ctx.now().toISOString()
        ctx.logger.warn('fx historical rates refused by the plan; using nearest stored sets', { monday })
        return
      }
      if (err.kind === 'rejected' || err.kind === 'invalid') {
        ctx.logger.warn('fx historical set skipped', { monday, error: err.message })
        continue
      }
      if (err.kind === 'budget') return
      ctx.logger.warn('fx historical fetch stopped', { monday, error: err.message })
      book.providerFailed = true
      return
    }
  }
}

// ------------------------------------------------------------------------------------ repricing

/**
 * weighted_sgd as stored from its exact value w (amount_sgd × probability ÷ 100): exact, with at least
 * the base currency's minor-unit scale (`exp`).
 */
const roundWeighted = (w: SQL, exp: number) =>
  sql`round(${w}, greatest(${exp}::int, scale(trim_scale(${w}))))`

/** SQL for weighted_sgd from a stored amount_sgd and an effective probability (SQL expressions), as pricing stores it. */
export const weightedSgdSql = (amountSgd: SQL, probability: SQL, base: string): SQL =>
  roundWeighted(sql`(${amountSgd} * coalesce(${probability}, 0) * 0.01)`, currencyExponent(base))

/**
 * Re-price, in one statement, the deals matching `filter` (SQL over alias d): the distinct
 * (currency, Zoho rate, home currency, closing Monday) combinations are priced here, and the
 * database applies them exactly: Amount × num ÷ den rounded half-even to the minor unit with
 * numeric div/mod, the same result priceDeal gives. Returns how many deals changed.
 */
export async function repriceWhere(db: Db, book: RateBook, filter: SQL, orgId?: string): Promise<number> {
  // Only orgs whose reporting currency is this book's base: orgs.base_currency labels the org's
  // amounts (summary, exports), so a book in another base must never write them (see rebase).
  const org = sql`o.base_currency = ${book.base} and ${orgId === undefined ? sql`true` : sql`d.org_id = ${orgId}`}`
  const monday = sql`(case when d.state in ('won', 'lost') and d.closing_date is not null
                       then date_trunc('week', d.closing_date)::date end)`
  const combos = await query<{
    currency: string
    zrate: string | null
    home: string | null
    monday: string | null
  }>(
    db,
    sql`select currency, zrate::text as zrate, home, monday::text as monday from (
          select distinct d.currency, d.zoho_exchange_rate as zrate, o.home_currency as home, ${monday} as monday
          from deals d left join orgs o on o.id = d.org_id where ${org} and ${filter}) c`,
  )
  if (!combos.length) return 0
  const priced = combos.map((c) => {
    const choice = chooseRate(book, {
      currency: c.currency,
      zohoExchangeRate: c.zrate,
      homeCurrency: c.home,
      closingMonday: c.monday,
    })
    if (!choice)
      return {
        ...c,
        num: null,
        den: null,
        rate_a: null,
        rate_b: null,
        fx_date: null,
        fx_source: null,
        fx_estimated: false,
      }
    const exact = terminatingDecimal(choice.rate, 40)
    let rateA: string
    let rateB: string
    if (exact) rateA = rateB = decimalToString(trimDecimal(exact))
    else {
      const [lo, hi, nearest] = approximate(choice.rate, 30)
      rateA = decimalToString(trimDecimal(nearest === 'lo' ? lo : hi))
      rateB = decimalToString(trimDecimal(nearest === 'lo' ? hi : lo))
    }
    return {
      ...c,
      num: choice.rate.num.toString(),
      den: choice.rate.den.toString(),
      rate_a: rateA,
      rate_b: rateB,
      fx_date: choice.fxDate,
      fx_source: choice.fxSource,
      fx_estimated: choice.fxEstimated,
    }
  })
  const exp = currencyExponent(book.base)
  const scaleUp = `1${'0'.repeat(exp)}` // 10^exp
  const unit = exp === 0 ? '1' : `0.${'0'.repeat(exp - 1)}1` // 10^-exp
  const [row] = await query<{ n: number }>(
    db,
    sql`with x as (
          select * from jsonb_to_recordset(${JSON.stringify(priced)}::jsonb) as x(
            currency text, zrate numeric, home text, monday date, num numeric, den numeric,
            rate_a numeric, rate_b numeric, fx_date date, fx_source text, fx_estimated boolean)
        ), t as (
          select d.org_id, d.id, d.effective_probability as p, x.num, x.den, x.rate_a, x.rate_b,
                 x.fx_date, x.fx_source, x.fx_estimated, coalesce(d.amount, 0) as amt,
                 coalesce(d.amount, 0) * x.num * ${scaleUp}::numeric as n
          from deals d left join orgs o on o.id = d.org_id
          join x on x.currency = d.currency
            and x.zrate is not distinct from d.zoho_exchange_rate
            and x.home is not distinct from o.home_currency
            and x.monday is not distinct from ${monday}
          where ${org} and ${filter}
        ), q as (
          select t.*, div(n, den) as q0, mod(n, den) as r0 from t
        ), c as (
          select q.*, q0 + case when 2 * abs(r0) > den or (2 * abs(r0) = den and mod(q0, 2) <> 0)
                                then sign(n) else 0 end as units,
                 amt * rate_a * ${scaleUp}::numeric as na
          from q
        ), f as (
          select c.*, trunc(na) + case when 2 * abs(na - trunc(na)) > 1
                                        or (2 * abs(na - trunc(na)) = 1 and mod(trunc(na), 2) <> 0)
                                       then sign(na) else 0 end as units_a
          from c
        ), v as materialized (
          select f.org_id, f.id, f.units * ${unit}::numeric as amount_sgd,
                 case when f.units_a = f.units then f.rate_a else f.rate_b end as fx_rate,
                 f.fx_date, f.fx_source, coalesce(f.fx_estimated, false) as fx_estimated,
                 f.units * coalesce(f.p, 0) * ${unit}::numeric * 0.01 as w
          from f
        ), u as (
          update deals d set
            amount_sgd = v.amount_sgd,
            weighted_sgd = ${roundWeighted(sql`v.w`, exp)},
            fx_rate = v.fx_rate, fx_date = v.fx_date, fx_source = v.fx_source, fx_estimated = v.fx_estimated
          from v
          where d.org_id = v.org_id and d.id = v.id
            and (d.amount_sgd is distinct from v.amount_sgd or d.fx_rate is distinct from v.fx_rate
                 or d.fx_date is distinct from v.fx_date or d.fx_source is distinct from v.fx_source
                 or d.fx_estimated is distinct from v.fx_estimated or d.weighted_sgd is distinct from v.w)
          returning 1
        )
        select count(*)::int as n from u`,
  )
  return row?.n ?? 0
}

/**
 * After a new rate set: re-price open deals (closed deals keep their closing week's rate). Set-based
 * SQL, not row by row. Also re-prices the deals whose rate is the newest set by rule: unknown-state
 * deals, and won/lost deals closing on or after the newest set's Monday.
 */
export async function repriceOpenDeals(db: Db, book: RateBook, orgId?: string): Promise<number> {
  if (!book.newest) return 0
  return repriceWhere(
    db,
    book,
    sql`(d.state not in ('won', 'lost') or d.closing_date is null or d.closing_date >= ${book.newest.weekDate})`,
    orgId,
  )
}

/**
 * Closed deals (alias d) before the newest set's week that are not priced from their own week's set:
 * estimated, unpriced, or priced from a set older than their closing Monday. The last happens when
 * the deal was priced with the newest set because its Monday was later, and the next set stored is
 * already past that Monday (a weekly refresh was missed): repriceOpenDeals no longer selects it and
 * it was never flagged estimated. fx_date is null for identity and for Zoho rates straight into the
 * base (no set involved), so those are not selected by the date test.
 */
function closedWithoutOwnSet(newestWeek: string): SQL {
  return sql`(d.state in ('won', 'lost') and d.closing_date is not null and d.closing_date < ${newestWeek}
    and (d.fx_estimated or d.amount_sgd is null or d.fx_date < date_trunc('week', d.closing_date)::date))`
}

/**
 * Re-price closed deals not priced from their own week's set (see closedWithoutOwnSet), once more
 * sets are stored. Deals priced from their own week's set are never touched.
 */
export async function repriceEstimatedClosedDeals(db: Db, book: RateBook, orgId?: string): Promise<number> {
  if (!book.newest) return 0
  return repriceWhere(db, book, closedWithoutOwnSet(book.newest.weekDate), orgId)
}

/** Closing dates of closed deals still waiting for their week's set (for bounded backfills). */
export async function closingDatesNeedingSets(db: Db, book: RateBook, orgId?: string): Promise<string[]> {
  if (!book.newest) return []
  const org = orgId === undefined ? sql`true` : sql`d.org_id = ${orgId}`
  const rows = await query<{ d: string }>(
    db,
    sql`select distinct d.closing_date::text as d from deals d join orgs o on o.id = d.org_id
        where ${org} and ${closedWithoutOwnSet(book.newest.weekDate)} and d.currency <> o.base_currency`,
  )
  return rows.map((r) => r.d)
}

/**
 * The same sets seen from another reporting currency: a book prices only orgs whose base_currency is
 * its base (repriceWhere), and rates memoised per set depend on the base, so each base needs its own
 * view. No database read; the provider-call accounting stays with the original book.
 */
export function rebase(book: RateBook, base: string): RateBook {
  if (base === book.base) return book
  const view: RateBook = { ...book, base, newest: null, byWeek: new Map() }
  for (const set of book.byWeek.values()) addToBook(view, set)
  return view
}

/** Every reporting currency in use (orgs.base_currency), so that each org is priced in its own. */
export async function orgBaseCurrencies(db: Db): Promise<string[]> {
  const rows = await query<{ base: string }>(
    db,
    sql`select distinct base_currency as base from orgs order by 1`,
  )
  return rows.map((r) => r.base)
}

/** Run a repricing for every reporting currency in use, with this book's sets. */
export async function repriceEveryBase(
  db: Db,
  book: RateBook,
  reprice: (db: Db, book: RateBook) => Promise<number>,
): Promise<number> {
  let n = 0
  for (const base of await orgBaseCurrencies(db)) n += await reprice(db, rebase(book, base))
  return n
}

/** Re-price every deal of one org (its base currency changed), in the book's base. */
export async function repriceAllDealsOfOrg(db: Db, book: RateBook, orgId: string): Promise<number> {
  return repriceWhere(db, book, sql`true`, orgId)
}

/**
 * For the sync, at the end of a run that stored historical sets: re-price, from the sets stored,
 * that org's closed deals of those weeks not priced from their own week's set (stored by earlier
 * runs, before the set existed). Only those weeks: over the whole org this cost 2.5 s at the end of
 * a full sync of 100,000 deals, for deals no new set could change (the fx job's weekly run still
 * sweeps them all). No provider calls; it reads the org's base currency and the stored sets itself.
 * Returns how many deals changed.
 */
export async function repriceClosedDealsOfOrg(db: Db, orgId: string, weeks: string[]): Promise<number> {
  if (!weeks.length) return 0
  const base = await orgBaseCurrency(db, orgId)
  if (!base) return 0
  const book = await loadRateBook(db, base)
  if (!book.newest) return 0
  const mondays = sql.join(
    weeks.map((w) => sql`${w}::date`),
    sql`, `,
  )
  return repriceWhere(
    db,
    book,
    sql`(${closedWithoutOwnSet(book.newest.weekDate)} and date_trunc('week', d.closing_date)::date in (${mondays}))`,
    orgId,
  )
}

/**
 * Bounded backfill: fetch the historical sets that estimated or unpriced closed deals need, then
 * re-price those deals. For the fx job, and for a sync run to call at its end.
 */
export async function backfillClosedDeals(
  ctx: EnsureContext,
  book: RateBook,
  orgId?: string,
): Promise<{ calls: number; repriced: number }> {
  const dates = await closingDatesNeedingSets(ctx.db, book, orgId)
  const calls = dates.length ? await ensureRateSets(ctx, dates, book) : 0
  const repriced = await repriceEveryBase(ctx.db, book, (db, b) => repriceEstimatedClosedDeals(db, b, orgId))
  return { calls, repriced }
}
