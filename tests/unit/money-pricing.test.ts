import { describe, expect, it } from 'vitest'
import { multiplyDecimals, roundHalfEven } from '#shared/money'
import { priceDeal, rateBookFrom, type PricingInput } from '../../api/src/fx/pricing'

/*
 * Rate choice (DESIGN.md) over an in-memory book of three weekly sets (units per 1 USD):
 *   2026-06-01: SGD 1.35,   JPY 140,    MYR 4.5
 *   2026-11-16: SGD 1.34,   JPY 150,    MYR 4.7
 *   2026-11-23 (newest): SGD 1.3412, JPY 151.37, IDR 15862.5, KWD 0.30752, MYR 4.7125 (no MMK)
 */
const book = rateBookFrom('SGD', [
  {
    weekDate: '2026-11-23',
    rates: { USD: '1', SGD: '1.3412', JPY: '151.37', IDR: '15862.5', KWD: '0.30752', MYR: '4.7125' },
  },
  { weekDate: '2026-06-01', rates: { USD: '1', SGD: '1.35', JPY: '140', MYR: '4.5' } },
  { weekDate: '2026-11-16', rates: { USD: '1', SGD: '1.34', JPY: '150', MYR: '4.7' } },
])

const deal = (over: Partial<PricingInput>): PricingInput => ({
  amount: '1000000',
  currency: 'JPY',
  zohoExchangeRate: null,
  homeCurrency: 'USD',
  state: 'open',
  closingDate: '2026-12-31',
  probability: 40,
  ...over,
})

describe('pricing: which rate set', () => {
  it('prices an open deal with the newest set', () => {
    // 1,000,000 × 1.3412 ÷ 151.37 = 8,860.408… → 8,860.41; weighted 8,860.41 × 40 ÷ 100 = 3,544.164
    const p = priceDeal(book, deal({}))
    expect(p).toMatchObject({
      amountSgd: '8860.41',
      weightedSgd: '3544.164',
      fxDate: '2026-11-23',
      fxSource: 'provider',
      fxEstimated: false,
    })
    expect(roundHalfEven(multiplyDecimals('1000000', p.fxRate!), 2)).toBe('8860.41')
  })

  it('prices a deal closed in an old week with that week’s set', () => {
    // closed Wednesday 2026-06-03 → Monday 2026-06-01: 1,000,000 × 1.35 ÷ 140 = 9,642.857… → 9,642.86
    const p = priceDeal(book, deal({ state: 'won', closingDate: '2026-06-03', probability: 100 }))
    expect(p).toMatchObject({ amountSgd: '9642.86', weightedSgd: '9642.86', fxDate: '2026-06-01' })
    expect(p.fxSource).toBe('provider')
    // a Monday closing date is its own week: 2026-11-16 → 1,000,000 × 1.34 ÷ 150 = 8,933.333… → 8,933.33
    const monday = priceDeal(book, deal({ state: 'lost', closingDate: '2026-11-16', probability: 0 }))
    expect(monday).toMatchObject({ amountSgd: '8933.33', weightedSgd: '0.00', fxDate: '2026-11-16' })
    // Sunday 2026-11-22 belongs to the week of Monday 2026-11-16
    expect(priceDeal(book, deal({ state: 'won', closingDate: '2026-11-22' })).fxDate).toBe('2026-11-16')
  })

  it('prices a closed deal with a future closing date from the newest set', () => {
    const p = priceDeal(book, deal({ state: 'won', closingDate: '2027-03-10' }))
    expect(p).toMatchObject({ amountSgd: '8860.41', fxDate: '2026-11-23', fxEstimated: false })
  })

  it('uses the nearest earlier set, flagged, when the closing week has none', () => {
    // closed 2026-09-09 (Monday 2026-09-07, not stored) → 2026-06-01 set: 9,642.86, estimated
    const p = priceDeal(book, deal({ state: 'won', closingDate: '2026-09-09' }))
    expect(p).toMatchObject({
      amountSgd: '9642.86',
      fxDate: '2026-06-01',
      fxSource: 'provider_nearest',
      fxEstimated: true,
    })
    // before every stored set: the oldest set stands in, still flagged
    const early = priceDeal(book, deal({ state: 'lost', closingDate: '2025-01-15' }))
    expect(early).toMatchObject({ fxDate: '2026-06-01', fxSource: 'provider_nearest', fxEstimated: true })
  })
})

describe('pricing: currencies', () => {
  it('converts IDR and KWD from the newest set', () => {
    // 250,000,000 IDR → 21,137.90 (see money.test.ts); 1,234.567 KWD → 5,384.37
    expect(priceDeal(book, deal({ amount: '250000000', currency: 'IDR' })).amountSgd).toBe('21137.90')
    expect(priceDeal(book, deal({ amount: '1234.567', currency: 'KWD' })).amountSgd).toBe('5384.37')
  })

  it('falls back to Zoho’s Exchange_Rate for a currency the provider lacks', () => {
    // MMK: 2,100,000 ÷ 2,100 (MMK per USD, the home currency) = 1,000 USD; × 1.3412 ÷ 1 = 1,341.20
    const p = priceDeal(
      book,
      deal({ amount: '2100000', currency: 'MMK', zohoExchangeRate: '2100.000000000' }),
    )
    expect(p).toMatchObject({
      amountSgd: '1341.20',
      weightedSgd: '536.48',
      fxSource: 'zoho',
      fxDate: '2026-11-23',
    })
    // effective rate 1.3412 ÷ 2,100 = 0.000638666… (non-terminating)
    expect(p.fxRate!.startsWith('0.000638666666')).toBe(true)
    // home MYR, closed in the 2026-06-01 week: 2,100,000 ÷ 470 = 4,468.085… MYR × 1.35 ÷ 4.5 (= 0.3)
    // = 1,340.4255… → 1,340.43
    const closed = priceDeal(
      book,
      deal({
        amount: '2100000',
        currency: 'MMK',
        zohoExchangeRate: '470',
        homeCurrency: 'MYR',
        state: 'won',
        closingDate: '2026-06-05',
      }),
    )
    expect(closed).toMatchObject({ amountSgd: '1340.43', fxSource: 'zoho', fxDate: '2026-06-01' })
    // home SGD: 2,100,000 ÷ 1,550 = 1,354.8387… → 1,354.84, no rate set involved
    const home = priceDeal(
      book,
      deal({ amount: '2100000', currency: 'MMK', zohoExchangeRate: '1550', homeCurrency: 'SGD' }),
    )
    expect(home).toMatchObject({ amountSgd: '1354.84', fxSource: 'zoho', fxDate: null })
  })

  it('leaves a deal unpriced when neither the provider nor Zoho can price it', () => {
    const unpriced = { amountSgd: null, weightedSgd: null, fxRate: null, fxDate: null, fxSource: null }
    expect(priceDeal(book, deal({ currency: 'MMK' }))).toMatchObject(unpriced)
    // Zoho rate present, but the home currency (VES) is missing from the provider too
    expect(
      priceDeal(book, deal({ currency: 'MMK', zohoExchangeRate: '55', homeCurrency: 'VES' })),
    ).toMatchObject(unpriced)
    expect(priceDeal(book, deal({ currency: 'MMK', zohoExchangeRate: '0' }))).toMatchObject(unpriced)
    // no rate set at all yet
    expect(priceDeal(rateBookFrom('SGD', []), deal({}))).toMatchObject(unpriced)
  })

  it('counts a null Amount as 0 and converts SGD at exactly 1', () => {
    expect(priceDeal(book, deal({ amount: null }))).toMatchObject({ amountSgd: '0.00', weightedSgd: '0.00' })
    const sgd = priceDeal(book, deal({ amount: '2500.5', currency: 'SGD', probability: 25 }))
    // 2,500.50 × 25 ÷ 100 = 625.125 (exact; rounds once when summed)
    expect(sgd).toEqual({
      amountSgd: '2500.50',
      weightedSgd: '625.125',
      fxRate: '1',
      fxDate: null,
      fxSource: 'identity',
      fxEstimated: false,
    })
    // SGD needs no rate set at all
    expect(priceDeal(rateBookFrom('SGD', []), deal({ currency: 'SGD', amount: '10' })).amountSgd).toBe(
      '10.00',
    )
  })

  it('counts an Amount missing from the record (undefined) as 0 too', () => {
    const p = priceDeal(book, deal({ amount: undefined as unknown as null }))
    expect(p).toMatchObject({ amountSgd: '0.00', weightedSgd: '0.00', fxSource: 'provider' })
  })

  it('stores the fx_rate neighbour that reproduces amount_sgd on a half-cent tie', () => {
    // a set quoting TRI at 3 and TWO at 1.5 per USD with SGD at 1: non-terminating rates 1/3 and 2/3
    const ties = rateBookFrom('SGD', [{ weekDate: '2026-11-23', rates: { SGD: '1', TRI: '3', TWO: '1.5' } }])
    const check = (amount: string, currency: string, amountSgd: string, fxRate: string) => {
      const p = priceDeal(ties, deal({ amount, currency, probability: 50 }))
      expect(p).toMatchObject({ amountSgd, fxRate })
      expect(roundHalfEven(multiplyDecimals(amount, p.fxRate!), 2)).toBe(amountSgd)
    }
    // 3.045 ÷ 3 = 1.015 → 1.02: the nearer 0.333…3 would give 1.01, so 0.333…34 is stored
    check('3.045', 'TRI', '1.02', `0.${'3'.repeat(29)}4`)
    check('3.015', 'TRI', '1.00', `0.${'3'.repeat(30)}`)
    // 1.5075 × 2/3 = 1.005 → 1.00: the nearer 0.666…67 would give 1.01, so 0.666…66 is stored
    check('1.5075', 'TWO', '1.00', `0.${'6'.repeat(30)}`)
    check('1.5225', 'TWO', '1.02', `0.${'6'.repeat(29)}7`)
    check('-3.045', 'TRI', '-1.02', `0.${'3'.repeat(29)}4`)
    expect(priceDeal(ties, deal({ amount: '3.045', currency: 'TRI', probability: 50 })).weightedSgd).toBe(
      '0.51',
    )
  })

  it('rounds to the base currency’s minor unit on a tie when the base is JPY or KWD', () => {
    const rates = { USD: '1', JPY: '1', KWD: '1', TRI: '3', TWO: '1.5' }
    const jpy = rateBookFrom('JPY', [{ weekDate: '2026-11-23', rates }])
    const kwd = rateBookFrom('KWD', [{ weekDate: '2026-11-23', rates }])
    // JPY: 3.75 × 2/3 = 2.5 → 2 (lower neighbour); 2.25 × 2/3 = 1.5 → 2 (upper neighbour)
    const a = priceDeal(jpy, deal({ amount: '3.75', currency: 'TWO', probability: 30 }))
    expect(a).toMatchObject({ amountSgd: '2', weightedSgd: '0.6', fxRate: `0.${'6'.repeat(30)}` })
    const b = priceDeal(jpy, deal({ amount: '2.25', currency: 'TWO' }))
    expect(b).toMatchObject({ amountSgd: '2', fxRate: `0.${'6'.repeat(29)}7` })
    // KWD: 3.0045 ÷ 3 = 1.0015 → 1.002 (upper neighbour); weighted 1.002 × 40 ÷ 100 = 0.4008
    const c = priceDeal(kwd, deal({ amount: '3.0045', currency: 'TRI' }))
    expect(c).toMatchObject({ amountSgd: '1.002', weightedSgd: '0.4008', fxRate: `0.${'3'.repeat(29)}4` })
    for (const [p, amount, exp] of [
      [a, '3.75', 0],
      [b, '2.25', 0],
      [c, '3.0045', 3],
    ] as const)
      expect(roundHalfEven(multiplyDecimals(amount, p.fxRate!), exp)).toBe(p.amountSgd)
  })

  it('weights a deal without any probability at 0, as the analytics sums do', () => {
    expect(priceDeal(book, deal({ probability: null }))).toMatchObject({
      amountSgd: '8860.41',
      weightedSgd: '0.00',
    })
  })
})
