import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { query, type Database, type Db } from '../../api/src/db/client'
import { runFx } from '../../api/src/fx/job'
import {
  ensureRateSets,
  loadRateBook,
  priceDeal,
  rateBookFrom,
  repriceClosedDealsOfOrg,
  repriceOpenDeals,
  type Pricing,
} from '../../api/src/fx/pricing'
import { fxStatus } from '../../api/src/fx/status'
import { saveRateSet } from '../../api/src/fx/store'
import { upsertOrg } from '../../api/src/sync/metadata'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { insertDeals, insertOrg, readDeals, silentLogger, testConfig, type TestDeal } from './helpers'

/*
 * Closed deals must end up on the set of the Monday on or before their closing date once that set
 * is stored or can be fetched, whatever way they were first priced: with the newest set when their
 * Monday was later (and a weekly refresh was then missed), with Zoho's rate before any set existed,
 * or with the nearest earlier set. And an org's amounts stay in the currency it is labelled with
 * (orgs.base_currency) when BASE_CURRENCY changes. The provider is a stand-in fetch with fixed dates.
 */

const ORG = '9007199254740996001'
const OTHER = '9007199254740996002'
const FX_URL = 'http://fx.test/v2.0'
const config = testConfig({ CURRENCY_API_KEY: 'k', CURRENCY_API_URL: FX_URL })

/** Currency Freaks stand-in: latest → `latest` (or down), historical → `hist[date]` (or the plan's 403). */
function fakeProvider(opts: {
  latest: Record<string, string> | 'down'
  hist?: Record<string, Record<string, string>>
  refuseHistorical?: boolean
}) {
  const calls: string[] = []
  const fetch = (async (input: string | URL) => {
    const url = new URL(String(input))
    const date = url.searchParams.get('date')
    calls.push(date ? `historical ${date}` : 'latest')
    const rates = (body: Record<string, string>, day: string) =>
      new Response(JSON.stringify({ date: `${day} 00:00:00+00`, base: 'USD', rates: body }))
    if (url.pathname.endsWith('/rates/latest')) {
      if (opts.latest === 'down') throw new TypeError('fetch failed: ECONNREFUSED')
      return rates(opts.latest, '2026-11-23')
    }
    if (opts.refuseHistorical) return new Response('{"message":"upgrade your plan"}', { status: 403 })
    const set = date ? opts.hist?.[date] : undefined
    return set ? rates(set, date!) : new Response('{"message":"no data"}', { status: 400 })
  }) as typeof globalThis.fetch
  return { fetch, calls }
}

const ctxAt = (db: Db, iso: string, fetch: typeof globalThis.fetch, cfg = config) => ({
  config: cfg,
  db,
  logger: silentLogger,
  fetch,
  now: () => new Date(iso),
  sleep: async () => {},
})

async function storeSet(
  db: Db,
  weekDate: string,
  kind: 'latest' | 'historical',
  rates: Record<string, string>,
) {
  await saveRateSet(db, {
    weekDate,
    kind,
    providerDate: new Date(`${weekDate}T00:00:00Z`),
    fetchedAt: new Date(`${weekDate}T00:05:00Z`),
    rates,
  })
}

/** A deal as a sync page writes it: priced in JS with the book the sync held at the time. */
async function storePriced(db: Db, orgId: string, deal: TestDeal, p: Pricing) {
  await insertDeals(db, orgId, [deal])
  await db.execute(sql`update deals set amount_sgd = ${p.amountSgd}, weighted_sgd = ${p.weightedSgd},
      fx_rate = ${p.fxRate}, fx_date = ${p.fxDate}, fx_source = ${p.fxSource}, fx_estimated = ${p.fxEstimated}
    where org_id = ${orgId} and id = ${deal.id}`)
}

const priceAs = (book: Parameters<typeof priceDeal>[0], d: TestDeal, home: string) =>
  priceDeal(book, {
    amount: d.amount,
    currency: d.currency,
    zohoExchangeRate: d.zohoExchangeRate ?? null,
    homeCurrency: home,
    state: d.state,
    closingDate: d.closingDate,
    probability: d.probability ?? 100,
  })

async function shown(db: Db, orgId: string, id: string) {
  const r = (await readDeals(db, orgId)).get(id)!
  return { amountSgd: r.amountSgd, fxDate: r.fxDate, fxSource: r.fxSource, fxEstimated: r.fxEstimated }
}

describe(`closed deals reach their own week's set (${testDbKind})`, () => {
  let database: Database
  beforeAll(async () => {
    database = await createTestDatabase()
  })
  beforeEach(async () => {
    const db = database.db
    for (const t of ['deals', 'fx_rate_sets', 'fx_provider_status', 'orgs'])
      await db.execute(sql.raw(`delete from ${t}`))
  })
  afterAll(() => database.close())

  it('a deal won in a week whose refresh was missed moves to that week’s set', async () => {
    const db = database.db
    await insertOrg(db, ORG, 'SGD')
    await insertOrg(db, OTHER, 'SGD')
    // Monday 2026-11-02's set is the newest when the deal is won on Wed 2026-11-11: its Monday is
    // later, so the newest set prices it (correct then, not estimated).
    await storeSet(db, '2026-11-02', 'latest', { USD: '1', SGD: '1.30' })
    const won: TestDeal = {
      id: '1',
      amount: '1000',
      currency: 'USD',
      state: 'won',
      closingDate: '2026-11-11',
    }
    await insertDeals(db, ORG, [won])
    await insertDeals(db, OTHER, [won])
    await repriceOpenDeals(db, await loadRateBook(db, 'SGD'))
    expect(await shown(db, ORG, '1')).toEqual({
      amountSgd: '1300.00',
      fxDate: '2026-11-02',
      fxSource: 'provider',
      fxEstimated: false,
    })

    // No refresh on 2026-11-09 or 11-16. The FX job of 2026-11-23 fetches the week of 2026-11-09.
    const fx = fakeProvider({
      latest: { USD: '1', SGD: '1.40' },
      hist: { '2026-11-09': { USD: '1', SGD: '1.35' } },
    })
    await runFx(ctxAt(db, '2026-11-23T00:00:00Z', fx.fetch))
    expect(fx.calls).toEqual(['latest', 'historical 2026-11-09'])
    for (const org of [ORG, OTHER])
      expect(await shown(db, org, '1')).toEqual({
        amountSgd: '1350.00',
        fxDate: '2026-11-09',
        fxSource: 'provider',
        fxEstimated: false,
      })
    // nothing left waiting: the next run fetches no historical set
    const again = fakeProvider({ latest: { USD: '1', SGD: '1.40' } })
    await runFx(ctxAt(db, '2026-11-30T00:00:00Z', again.fetch))
    expect(again.calls).toEqual(['latest'])
  })

  it('… or, when the plan refuses historical rates, stays on the earlier set flagged estimated', async () => {
    const db = database.db
    await insertOrg(db, ORG, 'SGD')
    await storeSet(db, '2026-11-02', 'latest', { USD: '1', SGD: '1.30' })
    await insertDeals(db, ORG, [
      { id: '1', amount: '1000', currency: 'USD', state: 'lost', closingDate: '2026-11-13' },
    ])
    await repriceOpenDeals(db, await loadRateBook(db, 'SGD'))
    const fx = fakeProvider({ latest: { USD: '1', SGD: '1.40' }, refuseHistorical: true })
    await runFx(ctxAt(db, '2026-11-23T00:00:00Z', fx.fetch))
    expect(fx.calls).toEqual(['latest', 'historical 2026-11-09'])
    expect(await shown(db, ORG, '1')).toEqual({
      amountSgd: '1300.00',
      fxDate: '2026-11-02',
      fxSource: 'provider_nearest',
      fxEstimated: true,
    })
  })

  it('a closed deal priced with Zoho’s rate before any set existed gets its week’s provider set', async () => {
    const db = database.db
    await insertOrg(db, ORG, 'SGD')
    // First sync while the provider is unreachable: no set at all, Zoho's Exchange_Rate stands in.
    const empty = await loadRateBook(db, 'SGD')
    const won: TestDeal = {
      id: '1',
      amount: '1000',
      currency: 'USD',
      zohoExchangeRate: '0.74',
      state: 'won',
      closingDate: '2026-11-04',
    }
    // MMK: the provider never quotes it, so Zoho's rate is the rule there, not a stand-in.
    const mmk: TestDeal = {
      id: '2',
      amount: '2100000',
      currency: 'MMK',
      zohoExchangeRate: '2100',
      state: 'won',
      closingDate: '2026-10-14',
    }
    await storePriced(db, ORG, won, priceAs(empty, won, 'SGD'))
    expect(await shown(db, ORG, '1')).toEqual({
      amountSgd: '1351.35',
      fxDate: null,
      fxSource: 'zoho',
      fxEstimated: true,
    })
    await storeSet(db, '2026-10-26', 'historical', { USD: '1', SGD: '1.29' })
    await storePriced(db, ORG, mmk, priceAs(await loadRateBook(db, 'SGD'), mmk, 'SGD'))
    const mmkBefore = await shown(db, ORG, '2')
    expect(mmkBefore).toEqual({ amountSgd: '1000.00', fxDate: null, fxSource: 'zoho', fxEstimated: false })

    const fx = fakeProvider({
      latest: { USD: '1', SGD: '1.34' },
      hist: { '2026-11-02': { USD: '1', SGD: '1.30' } },
    })
    await runFx(ctxAt(db, '2026-11-23T00:00:00Z', fx.fetch))
    // no historical call for the MMK deal's week: it does not wait for a set
    expect(fx.calls).toEqual(['latest', 'historical 2026-11-02'])
    expect(await shown(db, ORG, '1')).toEqual({
      amountSgd: '1300.00',
      fxDate: '2026-11-02',
      fxSource: 'provider',
      fxEstimated: false,
    })
    expect(await shown(db, ORG, '2')).toEqual(mmkBefore)
  })

  it('the Zoho rate is estimated only when no set exists, not when the provider lacks the currency', () => {
    const deal: TestDeal = {
      id: 'x',
      amount: '20',
      currency: 'MMK',
      zohoExchangeRate: '2000',
      state: 'open',
      closingDate: null,
    }
    expect(priceAs(rateBookFrom('SGD', []), deal, 'SGD')).toMatchObject({
      amountSgd: '0.01',
      fxSource: 'zoho',
      fxEstimated: true,
    })
    expect(
      priceAs(
        rateBookFrom('SGD', [{ weekDate: '2026-11-23', rates: { USD: '1', SGD: '1.3' } }]),
        deal,
        'SGD',
      ),
    ).toMatchObject({ amountSgd: '0.01', fxSource: 'zoho', fxEstimated: false })
  })

  it('an FX run with the provider down still re-prices closed deals from sets already stored', async () => {
    const db = database.db
    await insertOrg(db, ORG, 'SGD')
    await storeSet(db, '2026-11-02', 'historical', { USD: '1', SGD: '1.30' })
    await storeSet(db, '2026-11-23', 'latest', { USD: '1', SGD: '1.40' })
    const won: TestDeal = {
      id: '1',
      amount: '1000',
      currency: 'USD',
      state: 'won',
      closingDate: '2026-11-11',
    }
    await storePriced(db, ORG, won, priceAs(await loadRateBook(db, 'SGD'), won, 'SGD'))
    expect(await shown(db, ORG, '1')).toMatchObject({ fxDate: '2026-11-02', fxEstimated: true })
    // the week's set arrives by another path (a sync page fetched it)
    await storeSet(db, '2026-11-09', 'historical', { USD: '1', SGD: '1.35' })

    const r = await runFx(ctxAt(db, '2026-11-30T00:00:00Z', fakeProvider({ latest: 'down' }).fetch))
    expect(r.error?.kind).toBe('unavailable')
    expect(r.repricedClosed).toBe(1)
    expect(await shown(db, ORG, '1')).toEqual({
      amountSgd: '1350.00',
      fxDate: '2026-11-09',
      fxSource: 'provider',
      fxEstimated: false,
    })
  })

  it('after a sync stored a historical set, repriceClosedDealsOfOrg moves that org’s waiting deals', async () => {
    const db = database.db
    await insertOrg(db, ORG, 'SGD')
    await insertOrg(db, OTHER, 'SGD')
    await storeSet(db, '2026-11-02', 'latest', { USD: '1', SGD: '1.30' })
    const won = (id: string, closingDate: string): TestDeal => ({
      id,
      amount: '1000',
      currency: 'USD',
      state: 'won',
      closingDate,
    })
    // '1' is priced while 2026-11-02 is the newest set (its Monday is later: the newest, not
    // estimated); '2' after the set of 2026-11-23 arrived (the nearest earlier set, estimated).
    await storePriced(
      db,
      ORG,
      won('1', '2026-11-11'),
      priceAs(await loadRateBook(db, 'SGD'), won('1', '2026-11-11'), 'SGD'),
    )
    await storeSet(db, '2026-11-23', 'latest', { USD: '1', SGD: '1.40' })
    const book = await loadRateBook(db, 'SGD')
    for (const org of [ORG, OTHER])
      await storePriced(db, org, won('2', '2026-11-12'), priceAs(book, won('2', '2026-11-12'), 'SGD'))
    expect(await shown(db, ORG, '1')).toMatchObject({
      fxDate: '2026-11-02',
      fxSource: 'provider',
      fxEstimated: false,
    })
    const otherBefore = await shown(db, OTHER, '2')
    expect(otherBefore).toMatchObject({
      fxDate: '2026-11-02',
      fxSource: 'provider_nearest',
      fxEstimated: true,
    })

    // a page of the next sync holds another deal closed that week: the sync fetches its set
    const fx = fakeProvider({
      latest: { USD: '1', SGD: '1.40' },
      hist: { '2026-11-09': { USD: '1', SGD: '1.35' } },
    })
    await ensureRateSets(ctxAt(db, '2026-11-24T00:00:00Z', fx.fetch), ['2026-11-13'], book)
    expect(fx.calls).toEqual(['historical 2026-11-09'])
    // end of that run
    expect(await repriceClosedDealsOfOrg(db, ORG, ['2026-11-09'])).toBe(2)
    for (const id of ['1', '2'])
      expect(await shown(db, ORG, id)).toEqual({
        amountSgd: '1350.00',
        fxDate: '2026-11-09',
        fxSource: 'provider',
        fxEstimated: false,
      })
    expect(await shown(db, OTHER, '2')).toEqual(otherBefore) // the other org waits for its own run
  })

  it('when BASE_CURRENCY changes, the org’s amounts follow its label, whichever base runFx was given', async () => {
    const db = database.db
    const zohoOrg = {
      id: ORG,
      company_name: 'Acme',
      time_zone: 'Asia/Singapore',
      iso_code: 'SGD',
      mc_status: true,
    }
    await upsertOrg(db, zohoOrg, 'https://www.zohoapis.com', 'SGD')
    await storeSet(db, '2026-11-16', 'latest', { USD: '1', SGD: '1.30', EUR: '0.80' })
    await insertDeals(db, ORG, [
      { id: '1', amount: '1000', currency: 'EUR', state: 'open', closingDate: '2026-12-20' },
      { id: '2', amount: '1000', currency: 'USD', state: 'open', closingDate: '2026-12-20' },
    ])
    await repriceOpenDeals(db, await loadRateBook(db, 'SGD'))
    expect((await shown(db, ORG, '1')).amountSgd).toBe('1625.00')

    // the operator sets BASE_CURRENCY=USD; the next metadata refresh carries it to the org
    await upsertOrg(db, zohoOrg, 'https://www.zohoapis.com', 'USD')
    const base = async () =>
      (await query<{ b: string }>(db, sql`select base_currency as b from orgs where id = ${ORG}`))[0]!.b
    expect(await base()).toBe('USD')
    expect(await shown(db, ORG, '1')).toEqual({
      amountSgd: '1250.00',
      fxDate: '2026-11-16',
      fxSource: 'provider',
      fxEstimated: false,
    })
    expect(await shown(db, ORG, '2')).toEqual({
      amountSgd: '1000.00',
      fxDate: null,
      fxSource: 'identity',
      fxEstimated: false,
    })

    // an FX job still running with the old BASE_CURRENCY=SGD prices the org in its own base (USD)
    const fx = fakeProvider({ latest: { USD: '1', SGD: '1.25', EUR: '0.5' } })
    await runFx(
      ctxAt(
        db,
        '2026-11-23T00:00:00Z',
        fx.fetch,
        testConfig({ CURRENCY_API_KEY: 'k', CURRENCY_API_URL: FX_URL, BASE_CURRENCY: 'SGD' }),
      ),
    )
    expect(await base()).toBe('USD')
    expect(await shown(db, ORG, '1')).toEqual({
      amountSgd: '2000.00',
      fxDate: '2026-11-23',
      fxSource: 'provider',
      fxEstimated: false,
    })
    expect((await fxStatus(db, config, new Date('2026-11-23T01:00:00Z'), ORG)).currency).toBe('USD')
  })
})
