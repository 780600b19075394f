import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  convertToBase,
  convertUnits,
  crossRate,
  currencyExponent,
  decimalToString,
  formatMoney,
  multiplyDecimals,
  parseDecimal,
  rateFromDecimal,
  rateText,
  rateToDecimal,
  roundHalfEven,
  roundMoney,
  sumDecimals,
  sumMoney,
  viaHomeRate,
  weighted,
  weightedText,
} from '#shared/money'

/*
 * Golden values worked out by hand. Rates are the provider's units per 1 USD:
 * SGD 1.3412, JPY 151.37, IDR 15862.5, KWD 0.30752.
 */
const SGD = '1.3412'

describe('money: conversion to SGD', () => {
  it('converts JPY (exponent 0) exactly and rounds once', () => {
    // 1,000,000 × 1.3412 ÷ 151.37 = 1,341,200 ÷ 151.37.
    // 151.37 × 8,860 = 1,341,138.20; remainder 61.80 ÷ 151.37 = 0.40827… → 8,860.408… → 8,860.41
    expect(convertToBase('1000000', crossRate(SGD, '151.37'))).toBe('8860.41')
  })

  it('converts IDR', () => {
    // 250,000,000 × 1.3412 = 335,300,000; 15,862.5 × 21,137 = 335,285,662.5;
    // remainder 14,337.5 ÷ 15,862.5 = 0.90386… → 21,137.9039 → 21,137.90
    expect(convertToBase('250000000', crossRate(SGD, '15862.5'))).toBe('21137.90')
  })

  it('converts a 3-decimal currency (KWD)', () => {
    expect(currencyExponent('KWD')).toBe(3)
    // 1,234.567 × 1.3412 = 1,234.567 + 421.2342604 = 1,655.8012604
    // 0.30752 × 5,384 = 1,655.68768; remainder 0.1135804 ÷ 0.30752 = 0.36934… → 5,384.369… → 5,384.37
    expect(convertToBase('1234.567', crossRate(SGD, '0.30752'))).toBe('5384.37')
  })

  it('keeps every digit near the largest amount Zoho allows', () => {
    // 9,999,999,999,999.99 USD × 1.3412 ÷ 1 = 13,411,999,999,999.986588 → …999.99
    expect(convertToBase('9999999999999.99', crossRate(SGD, '1'))).toBe('13411999999999.99')
    // 9,999,999,999,999 JPY = 10^13 − 1: 10^13 × 1.3412 ÷ 151.37 = 88,604,082,711.2373…,
    // minus 1 × 1.3412 ÷ 151.37 = 0.00886… → 88,604,082,711.2284… → 88,604,082,711.23
    // (10^13 JPY would give …711.24: the last yen matters)
    expect(convertToBase('9999999999999', crossRate(SGD, '151.37'))).toBe('88604082711.23')
    expect(convertToBase('10000000000000', crossRate(SGD, '151.37'))).toBe('88604082711.24')
  })

  it('rounds a value exactly on a half cent to even, both ways', () => {
    // rate 1.35 per USD for the base: 0.1 USD → 0.135 → 0.14 (3 is odd: up)
    expect(convertToBase('0.1', crossRate('1.35', '1'))).toBe('0.14')
    // 0.3 USD → 0.405 → 0.40 (0 is even: stays); half-up would give 0.41
    expect(convertToBase('0.3', crossRate('1.35', '1'))).toBe('0.40')
    // a non-terminating rate: base 1, currency 3 per USD → 1/3. 3.015 ÷ 3 = 1.005 → 1.00; 3.045 ÷ 3 = 1.015 → 1.02
    expect(convertToBase('3.015', crossRate('1', '3'))).toBe('1.00')
    expect(convertToBase('3.045', crossRate('1', '3'))).toBe('1.02')
    // negative amounts (credit notes) mirror: -0.405 → -0.40, -0.135 → -0.14
    expect(convertToBase('-0.3', crossRate('1.35', '1'))).toBe('-0.40')
    expect(convertToBase('-0.1', crossRate('1.35', '1'))).toBe('-0.14')
  })

  it('converts SGD at exactly 1 and counts a null Amount as 0', () => {
    expect(convertToBase('2500.5', rateFromDecimal('1'))).toBe('2500.50')
    expect(convertToBase(null, crossRate(SGD, '151.37'))).toBe('0.00')
  })

  it('goes through the home currency with Zoho exchange rates', () => {
    // 2,100,000 MMK at 2,100 MMK per USD (home) = 1,000 USD; × 1.3412 = 1,341.20
    expect(convertToBase('2100000', viaHomeRate('2100.000000000', crossRate(SGD, '1')))).toBe('1341.20')
    // home = SGD: 2,100,000 ÷ 1,550 = 1,354.8387… → 1,354.84
    expect(convertToBase('2100000', viaHomeRate('1550', rateFromDecimal('1')))).toBe('1354.84')
  })

  it('rounds to the base currency minor unit when the base is not SGD', () => {
    // base JPY: 100 USD × 151.37 = 15,137 yen exactly; 0.5 USD → 75.685 → 76
    expect(convertToBase('100', crossRate('151.37', '1'), 'JPY')).toBe('15137')
    expect(convertToBase('0.5', crossRate('151.37', '1'), 'JPY')).toBe('76')
  })
})

describe('money: the stored fx_rate', () => {
  it('is exact when the fraction terminates and reproduces the value otherwise', () => {
    expect(rateToDecimal(crossRate(SGD, '1'), '10')).toBe('1.3412')
    expect(rateToDecimal(rateFromDecimal('1'), '10')).toBe('1')
    // 1.3412 ÷ 151.37 = 0.0088604082711237365396049415339896… (30 significant digits kept)
    const r = rateToDecimal(crossRate(SGD, '151.37'), '1000000')
    expect(r).toBe('0.00886040827112373653960494153399')
    expect(roundHalfEven(multiplyDecimals('1000000', r), 2)).toBe('8860.41')
  })

  it('picks the side of a half-cent tie that rounds like the exact value', () => {
    // 1/3 ≈ 0.333…: 3.045 × 0.333…3 = 1.01499… would round to 1.01; the exact 1.015 rounds to 1.02,
    // so the stored rate is 0.333…4 (rounded up at the 30th digit)
    const r = rateToDecimal(crossRate('1', '3'), '3.045')
    expect(r).toBe(`0.${'3'.repeat(29)}4`)
    expect(roundHalfEven(multiplyDecimals('3.045', r), 2)).toBe('1.02')
    const down = rateToDecimal(crossRate('1', '3'), '3.015')
    expect(roundHalfEven(multiplyDecimals('3.015', down), 2)).toBe('1.00')
  })

  it('amount × fx_rate reproduces the SGD value for any amount and rates', () => {
    const decimalString = (maxUnits: bigint, scale: number) =>
      fc.bigInt({ min: 1n, max: maxUnits }).map((u) => {
        const s = u.toString().padStart(scale + 1, '0')
        return `${s.slice(0, s.length - scale)}.${s.slice(s.length - scale)}`
      })
    fc.assert(
      fc.property(
        decimalString(999999999999999n, 2), // amounts up to 9,999,999,999,999.99
        decimalString(10n ** 12n, 6), // provider rates 0.000001 … 1,000,000
        decimalString(10n ** 12n, 6),
        (amount, rBase, rCur) => {
          const rate = crossRate(rBase, rCur)
          const value = convertToBase(amount, rate)
          expect(roundHalfEven(multiplyDecimals(amount, rateToDecimal(rate, amount)), 2)).toBe(value)
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('money: the stored fx_rate on a half-unit tie', () => {
  const reproduces = (amount: string, rate: ReturnType<typeof crossRate>, base: string) => {
    const value = convertToBase(amount, rate, base)
    const r = rateToDecimal(rate, amount, base)
    expect(roundHalfEven(multiplyDecimals(amount, r), currencyExponent(base))).toBe(value)
    // the parsed-amount path used by priceDeal picks the same text
    const a = parseDecimal(amount)
    const exp = currencyExponent(base)
    expect(rateText(rate, a, exp, convertUnits(a, rate, exp))).toBe(r)
    // and so does the caller passing the value it already has
    expect(rateToDecimal(rate, amount, base, value)).toBe(r)
    return { value, r }
  }

  it('falls back to the lower neighbour when the nearer (upper) one rounds past the tie', () => {
    // 2/3 ≈ 0.666…67 (nearer neighbour: up). 1.5075 × 2/3 = 1.005 exactly → 1.00 (half-even);
    // 1.5075 × 0.666…67 = 1.00500…005 would round to 1.01, so the stored rate is 0.666…66
    const twoThirds = crossRate('2', '3')
    expect(reproduces('1.5075', twoThirds, 'SGD')).toEqual({ value: '1.00', r: `0.${'6'.repeat(30)}` })
    // 1.5225 × 2/3 = 1.015 → 1.02: the upper neighbour rounds the same way and is kept
    expect(reproduces('1.5225', twoThirds, 'SGD')).toEqual({ value: '1.02', r: `0.${'6'.repeat(29)}7` })
  })

  it('handles ties at exponents 0 and 3, and negative amounts', () => {
    const third = crossRate('1', '3')
    const twoThirds = crossRate('2', '3')
    // JPY base: 3.75 × 2/3 = 2.5 → 2 (lower neighbour); 2.25 × 2/3 = 1.5 → 2 (upper neighbour)
    expect(reproduces('3.75', twoThirds, 'JPY')).toEqual({ value: '2', r: `0.${'6'.repeat(30)}` })
    expect(reproduces('2.25', twoThirds, 'JPY')).toEqual({ value: '2', r: `0.${'6'.repeat(29)}7` })
    // KWD base: 3.0015 ÷ 3 = 1.0005 → 1.000; 3.0045 ÷ 3 = 1.0015 → 1.002 (needs 0.333…34)
    expect(reproduces('3.0015', third, 'KWD')).toEqual({ value: '1.000', r: `0.${'3'.repeat(30)}` })
    expect(reproduces('3.0045', third, 'KWD')).toEqual({ value: '1.002', r: `0.${'3'.repeat(29)}4` })
    // credit notes mirror: -3.045 ÷ 3 = -1.015 → -1.02; -1.5075 × 2/3 = -1.005 → -1.00
    expect(reproduces('-3.045', third, 'SGD')).toEqual({ value: '-1.02', r: `0.${'3'.repeat(29)}4` })
    expect(reproduces('-1.5075', twoThirds, 'SGD')).toEqual({ value: '-1.00', r: `0.${'6'.repeat(30)}` })
    // a tiny negative value rounds to zero, never "-0.00"
    expect(reproduces('-0.01', third, 'SGD').value).toBe('0.00')
  })

  it('keeps the string and parsed-amount APIs in step for any amount, rate and exponent', () => {
    // amounts of either sign below 10^13 (Zoho's largest is 9,999,999,999,999.99) with 0-3 decimals
    const amount = fc
      .integer({ min: 0, max: 3 })
      .chain((scale) =>
        fc
          .bigInt({ min: -(10n ** BigInt(13 + scale)) + 1n, max: 10n ** BigInt(13 + scale) - 1n })
          .map((units) => decimalToString({ units, scale })),
      )
    const quote = fc.bigInt({ min: 1n, max: 10n ** 12n }).map((units) => decimalToString({ units, scale: 6 }))
    fc.assert(
      fc.property(
        amount,
        quote,
        quote,
        fc.constantFrom('SGD', 'JPY', 'KWD'),
        fc.integer({ min: 0, max: 100 }),
        (amount, rBase, rCur, base, probability) => {
          const rate = crossRate(rBase, rCur)
          const exp = currencyExponent(base)
          const a = parseDecimal(amount)
          const units = convertUnits(a, rate, exp)
          const value = convertToBase(amount, rate, base)
          expect(decimalToString({ units, scale: exp })).toBe(value)
          expect(weightedText({ units, scale: exp }, probability, exp)).toBe(
            weighted(value, probability, base),
          )
          const r = rateText(rate, a, exp, units)
          expect(r).toBe(rateToDecimal(rate, amount, base))
          expect(roundHalfEven(multiplyDecimals(amount, r), exp)).toBe(value)
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('money: weighted values and sums', () => {
  it('weights exactly and rounds sums once', () => {
    // 123.45 × 50 ÷ 100 = 61.725 (kept exact, not rounded per deal)
    expect(weighted('123.45', 50)).toBe('61.725')
    expect(weighted('100.00', 30)).toBe('30.00')
    expect(weighted('0.00', 40)).toBe('0.00')
    // 61.725 + 0.01 = 61.735 → 61.74 (3 odd: up). Rounding each deal first would give 61.72 + 0.01 = 61.73
    expect(sumMoney(['61.725', '0.01'])).toBe('61.74')
    expect(sumDecimals(['1.5', '2', null, '0.001'])).toBe('3.501')
    expect(sumDecimals([])).toBe('0.00')
    expect(() => weighted('1.00', 101)).toThrow(/Probability/)
  })

  it('never loses a cent over many amounts (floats would)', () => {
    const values = Array.from({ length: 1000 }, () => '0.10')
    expect(sumMoney(values)).toBe('100.00')
    expect(sumDecimals(['9999999999999.99', '0.01'])).toBe('10000000000000.00')
  })
})

describe('money: parsing, rounding, formatting', () => {
  it('parses decimal strings exactly', () => {
    expect(parseDecimal('1.5E7')).toEqual({ units: 15000000n, scale: 0 })
    expect(parseDecimal('.25')).toEqual({ units: 25n, scale: 2 })
    expect(() => parseDecimal('12,5')).toThrow(/Not a decimal/)
    expect(() => parseDecimal('NaN')).toThrow()
    // the plain shape and the general pattern agree
    expect(parseDecimal('-0.05')).toEqual({ units: -5n, scale: 2 })
    expect(parseDecimal('007.50')).toEqual({ units: 750n, scale: 2 })
    expect(parseDecimal('-0')).toEqual({ units: 0n, scale: 0 })
    expect(parseDecimal(' -12.5 ')).toEqual({ units: -125n, scale: 1 })
    expect(parseDecimal('+7.')).toEqual({ units: 7n, scale: 0 })
    expect(() => parseDecimal('1.2.3')).toThrow(/Not a decimal/)
    expect(() => parseDecimal('-')).toThrow(/Not a decimal/)
  })

  it('rounds half-even where dinero would round down', () => {
    expect(roundHalfEven('1.005', 2)).toBe('1.00')
    expect(roundHalfEven('1.015', 2)).toBe('1.02')
    expect(roundHalfEven('1.0151', 2)).toBe('1.02')
    expect(roundHalfEven('1.999', 2)).toBe('2.00')
    expect(roundMoney('1234.5675', 'KWD')).toBe('1234.568')
    expect(roundMoney('1234.5', 'JPY')).toBe('1234')
    expect(roundMoney('1235.5', 'JPY')).toBe('1236')
    // negative ties mirror, and a value rounding to zero has no sign
    expect(roundHalfEven('-1.005', 2)).toBe('-1.00')
    expect(roundHalfEven('-1.015', 2)).toBe('-1.02')
    expect(roundHalfEven('-0.004', 2)).toBe('0.00')
    expect(roundHalfEven('-0.006', 2)).toBe('-0.01')
  })

  it('knows currency exponents', () => {
    expect([currencyExponent('JPY'), currencyExponent('SGD'), currencyExponent('BHD')]).toEqual([0, 2, 3])
    expect(currencyExponent('IDR')).toBe(2)
    expect(currencyExponent('XYZ')).toBe(2)
    // memoised per code as given: a lower-case code still finds its ISO exponent, every time
    expect([currencyExponent('jpy'), currencyExponent('jpy'), currencyExponent('JPY')]).toEqual([0, 0, 0])
    expect([currencyExponent('kwd'), currencyExponent('KWD')]).toEqual([3, 3])
  })

  it('formats with the currency minor unit, half-even, without float loss', () => {
    const f = (a: string, c: string, l: string) => formatMoney(a, c, l).replace(/\s/g, ' ')
    expect(f('1234.5', 'SGD', 'en-SG')).toBe('$1,234.50')
    expect(f('1234', 'JPY', 'en-US')).toBe('¥1,234')
    expect(f('1234.5675', 'KWD', 'en-US')).toBe('KWD 1,234.568')
    expect(f('61.725', 'SGD', 'en-SG')).toBe('$61.72')
    // 17 significant digits: a float would print …999.98 or …1000.00
    expect(f('99999999999999.99', 'SGD', 'en-SG')).toBe('$99,999,999,999,999.99')
    expect(f('5', 'USDT', 'en-US')).toBe('USDT 5.00')
  })
})
