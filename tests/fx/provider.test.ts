import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { normalizeDecimal } from '#shared/money'
import type { Database } from '../../api/src/db/client'
import { runFx } from '../../api/src/fx/job'
import { ensureRateSets, loadRateBook, priceDeal } from '../../api/src/fx/pricing'
import { MAX_PROVIDER_CALLS_PER_RUN } from '../../api/src/fx/store'
import { FxProviderError } from '../../api/src/fx/provider'
import { fxStatus } from '../../api/src/fx/status'
import { listRateSets, providerStatus, refreshLatest, type FxContext } from '../../api/src/fx/store'
import { mondayOf, utcDate } from '../../api/src/fx/week'
import { fxRatesFor, startSandbox, type Sandbox } from '../../api/src/sandbox'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { insertDeals, insertOrg, readDeals, silentLogger, testConfig } from './helpers'

/*
 * The Currency Freaks client and rate store against the sandbox provider over real HTTP. The sandbox
 * quotes per 1 USD as strings, moves weekly, has no MMK, refuses historical rates on the free plan
 * (403) and answers 429 once its quota is spent. Dates are relative to today (the sandbox refuses
 * future historical dates).
 */

const DAY = 86_400_000
const today = utcDate(new Date())
const thisMonday = mondayOf(today)
/** The Wednesday n weeks before this week. */
const weeksAgo = (n: number) =>
  utcDate(new Date(Date.parse(`${thisMonday}T00:00:00Z`) - n * 7 * DAY + 2 * DAY))
const ORG = '9007199254740994001'

describe(`Currency Freaks client and rate store (${testDbKind})`, () => {
  let database: Database
  const sandboxes: Sandbox[] = []
  let sleeps: number[] = []

  async function sandbox(opts: Parameters<typeof startSandbox>[0] = {}) {
    const sb = await startSandbox({ deals: 5, ...opts })
    sandboxes.push(sb)
    return sb
  }
  const fxCalls = (sb: Sandbox) => sb.calls.filter((c) => c.service === 'fx')

  function ctxFor(sb: { fxUrl: string; fxApiKey: string }, over: Partial<FxContext> = {}): FxContext {
    return {
      db: database.db,
      config: testConfig({ CURRENCY_API_URL: sb.fxUrl, CURRENCY_API_KEY: sb.fxApiKey }),
      fetch: globalThis.fetch,
      logger: silentLogger,
      now: () => new Date(),
      sleep: async (ms) => void sleeps.push(ms),
      ...over,
    }
  }

  beforeAll(async () => {
    database = await createTestDatabase()
    await insertOrg(database.db, ORG, 'USD')
  })
  beforeEach(async () => {
    sleeps = []
    await database.db.execute(sql`delete from fx_rate_sets`)
    await database.db.execute(sql`delete from fx_provider_status`)
    await database.db.execute(sql`delete from deals`)
  })
  afterAll(async () => {
    await Promise.all(sandboxes.map((s) => s.close()))
    await database.close()
  })

  it('stores the latest and the historical sets closed deals need, exactly, once', async () => {
    const sb = await sandbox()
    const ctx = ctxFor(sb)
    const book = await loadRateBook(ctx.db, 'SGD')
    const closing = [weeksAgo(3), weeksAgo(5), weeksAgo(5), weeksAgo(-2)]
    const calls = await ensureRateSets(ctx, closing, book)
    // one latest (no set yet) + two historical Mondays; the future closing date needs none
    expect(calls).toBe(3)
    const requests = fxCalls(sb).map((c) => [c.path, c.query])
    expect(requests).toEqual([
      ['/v2.0/rates/latest', { apikey: sb.fxApiKey }],
      ['/v2.0/rates/historical', { apikey: sb.fxApiKey, date: mondayOf(weeksAgo(3)) }],
      ['/v2.0/rates/historical', { apikey: sb.fxApiKey, date: mondayOf(weeksAgo(5)) }],
    ])
    const sets = await listRateSets(ctx.db)
    expect(sets.map((s) => [s.weekDate, s.kind, s.source])).toEqual([
      [mondayOf(weeksAgo(5)), 'historical', 'currencyfreaks'],
      [mondayOf(weeksAgo(3)), 'historical', 'currencyfreaks'],
      [thisMonday, 'latest', 'currencyfreaks'],
    ])
    expect(sets[0]!.providerDate).toBe(`${mondayOf(weeksAgo(5))}T00:00:00.000Z`)
    // rates are the provider's strings, digit for digit
    const old = fxRatesFor(mondayOf(weeksAgo(5)))
    const stored = (await loadRateBook(ctx.db, 'SGD')).byWeek.get(mondayOf(weeksAgo(5)))!.rates
    expect(stored.SGD).toBe(normalizeDecimal(old.SGD!))
    expect(stored.IDR).toBe(normalizeDecimal(old.IDR!))
    expect(stored.MMK).toBeUndefined()

    // a deal closed 5 weeks ago is priced from its week's set
    const p = priceDeal(book, {
      amount: '1000000',
      currency: 'JPY',
      zohoExchangeRate: null,
      homeCurrency: 'USD',
      state: 'won',
      closingDate: weeksAgo(5),
      probability: 100,
    })
    expect(p).toMatchObject({ fxDate: mondayOf(weeksAgo(5)), fxSource: 'provider', fxEstimated: false })

    // cached forever: asking again costs nothing
    expect(await ensureRateSets(ctx, closing, book)).toBe(0)
    expect(fxCalls(sb)).toHaveLength(3)
  })

  it('stops on a bad key with a message naming CURRENCY_API_KEY', async () => {
    const sb = await sandbox()
    const ctx = ctxFor({ fxUrl: sb.fxUrl, fxApiKey: 'not-the-key' })
    const err = await refreshLatest(ctx).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(FxProviderError)
    expect((err as FxProviderError).kind).toBe('auth')
    expect((err as Error).message).toMatch(/HTTP 401: Invalid API Key.*CURRENCY_API_KEY/)
    expect(fxCalls(sb)).toHaveLength(1) // not retried
    const status = await providerStatus(ctx.db)
    expect(status).toMatchObject({ reachable: true, lastSuccessAt: null })
    expect(status.lastError).toMatch(/CURRENCY_API_KEY/)

    const noKey = { ...ctx, config: testConfig({ CURRENCY_API_URL: sb.fxUrl }) }
    await expect(refreshLatest(noKey)).rejects.toThrow(/CURRENCY_API_KEY is not set/)
    expect(fxCalls(sb)).toHaveLength(1)
  })

  it('on a plan without historical rates, uses the nearest earlier stored set and flags it', async () => {
    const sb = await sandbox({ fxPlan: 'free' })
    // a set stored eight weeks ago (the latest endpoint works on the free plan), then this week's
    await refreshLatest(ctxFor(sb, { now: () => new Date(Date.parse(`${weeksAgo(8)}T12:00:00Z`)) }))
    const ctx = ctxFor(sb)
    const book = await loadRateBook(ctx.db, 'SGD')
    const calls = await ensureRateSets(ctx, [weeksAgo(3)], book)
    expect(calls).toBe(2) // latest (the stored set is old) + one refused historical, not retried
    expect(fxCalls(sb).map((c) => c.status)).toEqual([200, 200, 403])
    const p = priceDeal(book, {
      amount: '1000',
      currency: 'EUR',
      zohoExchangeRate: null,
      homeCurrency: 'USD',
      state: 'lost',
      closingDate: weeksAgo(3),
      probability: 0,
    })
    expect(p).toMatchObject({
      fxDate: mondayOf(weeksAgo(8)),
      fxSource: 'provider_nearest',
      fxEstimated: true,
    })
    expect((await providerStatus(ctx.db)).historicalRefusedAt).not.toBeNull()
    // the refusal is remembered: the next run does not spend a call on it
    const next = await loadRateBook(ctx.db, 'SGD')
    expect(await ensureRateSets(ctx, [weeksAgo(4)], next)).toBe(0)
    expect(fxCalls(sb)).toHaveLength(3)
  })

  it('retries 429 with backoff, and gives up cleanly when the quota is spent', async () => {
    const sb = await sandbox({ fxQuota: 1 })
    // a transient 429 from in front of the provider (as a rate limiter would answer), then the real answer
    let refused = 0
    const flaky: typeof fetch = async (input, init) => {
      if (refused < 2) {
        refused++
        // the second one says when to come back: Retry-After wins over the shorter backoff
        const headers = refused === 2 ? { 'retry-after': '3' } : undefined
        return new Response('{"message":"Too many requests"}', { status: 429, headers })
      }
      return globalThis.fetch(input, init)
    }
    const set = await refreshLatest(ctxFor(sb, { fetch: flaky }))
    expect(set.weekDate).toBe(thisMonday)
    expect(sleeps).toEqual([500, 3000])
    expect((await providerStatus(database.db)).reachable).toBe(true)

    // the sandbox quota (1 request) is now spent: every further request is 429
    sleeps = []
    const err = await refreshLatest(ctxFor(sb)).catch((e: unknown) => e)
    expect((err as FxProviderError).kind).toBe('quota')
    expect((err as Error).message).toMatch(/HTTP 429: You have exceeded your monthly API request quota/)
    expect(sleeps).toEqual([500, 1000, 2000])
    expect(fxCalls(sb).map((c) => c.status)).toEqual([200, 429, 429, 429, 429])
    // the set fetched before stays the newest
    expect((await listRateSets(database.db)).map((s) => s.fetchedAt)).toEqual([set.fetchedAt])
  })

  it('keeps using the newest set while the provider is down and reports it stale', async () => {
    const sb = await sandbox()
    const tenDaysAgo = new Date(Date.now() - 10 * DAY)
    const old = await refreshLatest(ctxFor(sb, { now: () => tenDaysAgo }))
    await insertDeals(database.db, ORG, [
      { id: '1', amount: '1000', currency: 'EUR', state: 'open', closingDate: today, probability: 50 },
    ])
    await sb.close()
    sandboxes.splice(sandboxes.indexOf(sb), 1)

    const ctx = ctxFor(sb)
    const run = await runFx(ctx)
    expect(run.error?.kind).toBe('unavailable')
    expect(run.error?.message).toMatch(/unreachable/)
    expect(sleeps).toEqual([500, 1000, 2000])
    const deal = (await readDeals(ctx.db, ORG)).get('1')!
    expect(deal).toMatchObject({ fxDate: old.weekDate, fxSource: 'provider' })
    expect(deal.amountSgd).not.toBeNull()

    const status = await fxStatus(ctx.db, ctx.config, new Date(), ORG)
    expect(status.newest?.weekDate).toBe(old.weekDate)
    expect(status.stale).toBe(true)
    expect(status.ageDays).toBeGreaterThanOrEqual(10)
    expect(status.provider.reachable).toBe(false)
    expect(status.provider.lastError).toMatch(/unreachable/)
  })

  it('bounds the historical calls of one run and continues on the next', async () => {
    const sb = await sandbox()
    const ctx = ctxFor(sb, { maxCalls: 5 })
    await refreshLatest(ctx)
    const closing = Array.from({ length: 12 }, (_, i) => weeksAgo(i + 1))
    await insertDeals(
      database.db,
      ORG,
      closing.map((d, i) => ({
        id: String(100 + i),
        amount: '500',
        currency: 'GBP',
        state: 'won',
        closingDate: d,
      })),
    )
    sb.resetCalls()
    const first = await runFx({ ...ctx, maxCalls: 6 }) // 1 latest + 5 historical
    expect(first.calls).toBe(6)
    expect(fxCalls(sb).filter((c) => c.path.endsWith('/historical'))).toHaveLength(5)
    let deals = [...(await readDeals(database.db, ORG)).values()]
    // the five most recent weeks have their own set; the older seven are estimated for now
    expect(deals.filter((d) => d.fxSource === 'provider')).toHaveLength(5)
    expect(deals.filter((d) => d.fxSource === 'provider_nearest' && d.fxEstimated)).toHaveLength(7)
    expect(first.repricedClosed).toBe(12)

    sb.resetCalls()
    const second = await runFx({ ...ctx, maxCalls: 6 })
    expect(second.calls).toBe(6)
    deals = [...(await readDeals(database.db, ORG)).values()]
    expect(deals.filter((d) => d.fxSource === 'provider')).toHaveLength(10)
    // five deals move to their own week; the two oldest move to the new oldest stored set
    expect(second.repricedClosed).toBe(7)
    // weeks already stored are never fetched again
    const asked = fxCalls(sb)
      .map((c) => c.query.date)
      .filter(Boolean)
    expect(asked.every((d) => d! < mondayOf(weeksAgo(5)))).toBe(true)
  })

  it('shares one call budget across the pages of a run, and stops calling after a failure', async () => {
    const sb = await sandbox()
    const ctx = ctxFor(sb)
    await refreshLatest(ctx)
    sb.resetCalls()
    // a sync run: one book, ensureRateSets once per page, each page with new closing weeks
    const book = await loadRateBook(ctx.db, 'SGD')
    let total = 0
    for (let page = 0; page < 5; page++) {
      const dates = Array.from({ length: 5 }, (_, i) => weeksAgo(page * 5 + i + 1))
      total += await ensureRateSets(ctx, dates, book)
    }
    expect(total).toBe(MAX_PROVIDER_CALLS_PER_RUN)
    expect(fxCalls(sb)).toHaveLength(MAX_PROVIDER_CALLS_PER_RUN)

    // provider down: the first page pays the retries, later pages of the run make no calls
    const down = await loadRateBook(ctx.db, 'SGD')
    const offline = ctxFor({ fxUrl: 'http://127.0.0.1:9/v2.0', fxApiKey: 'k' })
    expect(await ensureRateSets(offline, [weeksAgo(40)], down)).toBe(4)
    expect(await ensureRateSets(offline, [weeksAgo(41)], down)).toBe(0)
    expect(down.providerFailed).toBe(true)
  })
})
