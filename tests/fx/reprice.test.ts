import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../api/src/db/client'
import {
  loadRateBook,
  priceDeal,
  repriceEstimatedClosedDeals,
  repriceOpenDeals,
  type RateBook,
} from '../../api/src/fx/pricing'
import { listRateSets, saveRateSet } from '../../api/src/fx/store'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { insertDeals, insertOrg, readDeals, rng, type DealRow, type TestDeal } from './helpers'

/*
 * The set-based SQL repricing must give exactly what priceDeal gives (the sync prices page by page
 * in JS, the repricing after a new set in SQL). XTR is quoted at 4.05 per USD so that
 * SGD/XTR = 1.35 ÷ 4.05 = 1/3 exactly (non-terminating) and 3.015 / 3.045 XTR land on half cents
 * (1.005 → 1.00, 1.015 → 1.02). MMK is never quoted: Zoho's rate or unpriced.
 */
const SETS = {
  '2026-06-01': { USD: '1', SGD: '1.35', JPY: '140', MYR: '4.5', XTR: '4.05' },
  '2026-11-16': { USD: '1', SGD: '1.35', JPY: '150', MYR: '4.7', IDR: '15800', KWD: '0.31', XTR: '4.05' },
  '2026-11-23': {
    USD: '1',
    SGD: '1.3412',
    JPY: '151.37',
    MYR: '4.7125',
    IDR: '15862.5',
    KWD: '0.30752',
    XTR: '4.4',
  },
}
const ORG = '9007199254740993001'
const OTHER = '9007199254740993002'
const CURRENCIES = ['SGD', 'USD', 'JPY', 'IDR', 'KWD', 'MYR', 'XTR', 'MMK', 'EUR']
const AMOUNTS = [
  '0.1',
  '0.3',
  '3.015',
  '3.045',
  '1000000',
  '9999999999999.99',
  '1234.567',
  null,
  '0',
  '-12.5',
]
const DATES = [
  '2026-06-03',
  '2026-06-01',
  '2026-09-09',
  '2026-11-16',
  '2026-11-22',
  '2026-11-25',
  '2027-02-01',
  null,
]

function randomDeals(prefix: string, n: number, seed: number): TestDeal[] {
  const r = rng(seed)
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!
  return Array.from({ length: n }, (_, i) => {
    const currency = pick(CURRENCIES)
    const amount = r() < 0.5 ? pick(AMOUNTS) : (Math.floor(r() * 1e9) / 100).toFixed(2)
    return {
      id: `${prefix}${String(i).padStart(6, '0')}`,
      amount,
      currency,
      zohoExchangeRate: currency === 'MMK' && r() < 0.7 ? pick(['2100.000000000', '2099.5', '1470']) : null,
      state: pick(['open', 'open', 'won', 'lost', 'unknown'] as const),
      closingDate: pick(DATES),
      probability: r() < 0.1 ? null : Math.floor(r() * 101),
    }
  })
}

function expected(book: RateBook, d: TestDeal, home: string) {
  const p = priceDeal(book, {
    amount: d.amount,
    currency: d.currency,
    zohoExchangeRate: d.zohoExchangeRate ?? null,
    homeCurrency: home,
    state: d.state,
    closingDate: d.closingDate,
    probability: d.probability ?? null,
  })
  return { ...p, fxEstimated: p.fxEstimated }
}

const fields = (r: DealRow) => ({
  amountSgd: r.amountSgd,
  weightedSgd: r.weightedSgd,
  fxRate: r.fxRate,
  fxDate: r.fxDate,
  fxSource: r.fxSource,
  fxEstimated: r.fxEstimated,
})

describe(`fx repricing in SQL (${testDbKind})`, () => {
  let database: Database
  const deals = randomDeals('1', 400, 7)
  const otherDeals = randomDeals('2', 50, 8)

  beforeAll(async () => {
    database = await createTestDatabase()
    const db = database.db
    await insertOrg(db, ORG, 'USD')
    await insertOrg(db, OTHER, 'MYR')
    await insertDeals(db, ORG, deals)
    await insertDeals(db, OTHER, otherDeals)
    for (const week of ['2026-06-01', '2026-11-16'] as const)
      await saveRateSet(db, {
        weekDate: week,
        kind: week === '2026-06-01' ? 'historical' : 'latest',
        providerDate: new Date(`${week}T00:00:00Z`),
        fetchedAt: new Date(`${week}T00:05:00Z`),
        rates: SETS[week],
      })
  })
  afterAll(() => database.close())

  it('prices every deal exactly as priceDeal does, half-cent ties included', async () => {
    const db = database.db
    const book = await loadRateBook(db, 'SGD')
    expect(book.newest?.weekDate).toBe('2026-11-16')
    const open = await repriceOpenDeals(db, book)
    const closed = await repriceEstimatedClosedDeals(db, book)
    expect(open).toBeGreaterThan(0)
    expect(closed).toBeGreaterThan(0)
    const rows = await readDeals(db, ORG)
    for (const d of deals)
      expect({ id: d.id, ...fields(rows.get(d.id)!) }).toEqual({ id: d.id, ...expected(book, d, 'USD') })
    const other = await readDeals(db, OTHER)
    for (const d of otherDeals) expect(fields(other.get(d.id)!)).toEqual(expected(book, d, 'MYR'))

    // the ties really are there: 3.045 XTR open → 1.015 → 1.02; 3.015 → 1.005 → 1.00
    const tie = deals.find((d) => d.currency === 'XTR' && d.amount === '3.045' && d.state === 'open')
    if (tie) expect(rows.get(tie.id)!.amountSgd).toBe('1.02')
    const prices = [...rows.values()]
    expect(prices.some((r) => r.fxSource === 'zoho')).toBe(true)
    expect(prices.some((r) => r.fxSource === 'provider_nearest' && r.fxEstimated)).toBe(true)
    expect(prices.some((r) => r.amountSgd === null)).toBe(true)
  })

  it('after a new set, re-prices open deals and leaves closed deals in their week alone', async () => {
    const db = database.db
    const before = await readDeals(db, ORG)
    await saveRateSet(db, {
      weekDate: '2026-11-23',
      kind: 'latest',
      providerDate: new Date('2026-11-23T00:00:00Z'),
      fetchedAt: new Date('2026-11-23T00:05:00Z'),
      rates: SETS['2026-11-23'],
    })
    const book = await loadRateBook(db, 'SGD')
    expect(book.newest?.weekDate).toBe('2026-11-23')
    const otherBefore = await readDeals(db, OTHER)
    const changed = await repriceOpenDeals(db, book, ORG)
    const after = await readDeals(db, ORG)

    let moved = 0
    for (const d of deals) {
      const takesNewest =
        (d.state !== 'won' && d.state !== 'lost') || !d.closingDate || d.closingDate >= '2026-11-23'
      if (takesNewest) {
        expect(fields(after.get(d.id)!)).toEqual(expected(book, d, 'USD'))
        if (JSON.stringify(after.get(d.id)) !== JSON.stringify(before.get(d.id))) moved++
      } else expect(after.get(d.id)).toEqual(before.get(d.id))
    }
    expect(changed).toBe(moved)
    expect(moved).toBeGreaterThan(50)
    // a deal won in the previous newest week keeps that week's set
    const lastWeek = deals.find(
      (d) => d.state === 'won' && d.closingDate === '2026-11-22' && d.currency === 'JPY',
    )
    if (lastWeek) expect(after.get(lastWeek.id)!.fxDate).toBe('2026-11-16')
    // scoped to the org asked for
    expect(await readDeals(db, OTHER)).toEqual(otherBefore)
    // nothing left to change: a second run writes nothing
    expect(await repriceOpenDeals(db, book, ORG)).toBe(0)
  })

  it('keeps historical sets forever and replaces only the same week’s latest set', async () => {
    const db = database.db
    const again = await saveRateSet(db, {
      weekDate: '2026-06-01',
      kind: 'historical',
      providerDate: null,
      fetchedAt: new Date(),
      rates: { USD: '1', SGD: '9' },
    })
    expect(again.rates.SGD).toBe('1.35')
    const refreshed = await saveRateSet(db, {
      weekDate: '2026-11-23',
      kind: 'latest',
      providerDate: null,
      fetchedAt: new Date('2026-11-25T00:00:00Z'),
      rates: { USD: '1', SGD: '1.3399' },
    })
    expect(refreshed.rates).toEqual({ USD: '1', SGD: '1.3399' })
    expect(refreshed.fetchedAt).toBe('2026-11-25T00:00:00.000Z')
    expect((await listRateSets(db)).map((s) => [s.weekDate, s.kind])).toEqual([
      ['2026-06-01', 'historical'],
      ['2026-11-16', 'latest'],
      ['2026-11-23', 'latest'],
    ])
  })
})
