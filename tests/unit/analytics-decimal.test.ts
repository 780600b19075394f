import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { addDecimals, divRound, money, ratio, subtractDecimals } from '../../api/src/analytics/decimal'
import { buckets, fiscalQuarter, fiscalYear, localDate } from '../../api/src/analytics/period'
import { csvField } from '../../api/src/analytics/export'
import { zohoDealUrl } from '../../api/src/analytics/context'

describe('exact decimals for analytics', () => {
  it('rounds half to even, once, at the cent (SGD)', () => {
    expect(money('0.125', 'SGD')).toBe('0.12')
    expect(money('0.135', 'SGD')).toBe('0.14')
    expect(money('-0.125', 'SGD')).toBe('-0.12')
    expect(money('2.5', 'SGD')).toBe('2.50')
    expect(money(null, 'SGD')).toBe('0.00')
    expect(money('99999999999999999999.994999', 'SGD')).toBe('99999999999999999999.99')
    // Weighted: Σ amount × probability, then ÷ 100 and rounded once.
    expect(divRound('1234.50', 100n)).toBe('12.34') // 12.345 → 12.34 (even)
    expect(divRound('1235.50', 100n)).toBe('12.36')
    expect(divRound('10', 3n, 1)).toBe('3.3')
  })

  it('ratios with four places, null for 0 ÷ 0', () => {
    expect(ratio(1, 3)).toBe('0.3333')
    expect(ratio(2, 3)).toBe('0.6667')
    expect(ratio('0.5', '2.00')).toBe('0.2500')
    expect(ratio(0, 0)).toBeNull()
    expect(ratio(1, 80000)).toBe('0.0000') // 0.0000125 → half-even down
    expect(ratio(3, 80000)).toBe('0.0000') // 0.0000375 → 0.0000
    expect(ratio(5, 80000)).toBe('0.0001') // 0.0000625 → 0.0001
  })

  it('adds and subtracts exactly, whatever the scales', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
        fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
        (a, b) => {
          const s = (v: bigint, k: number) => {
            const neg = v < 0n
            const d = (neg ? -v : v).toString().padStart(k + 1, '0')
            return `${neg ? '-' : ''}${d.slice(0, -k)}.${d.slice(-k)}`
          }
          const x = s(a, 2)
          const y = s(b, 4)
          const sum = addDecimals(x, y)
          expect(money(subtractDecimals(sum, y), 'SGD')).toBe(money(x, 'SGD'))
        },
      ),
    )
  })
})

describe('periods in the org calendar', () => {
  it('fiscal quarters and years follow the start month', () => {
    expect(fiscalQuarter('2026-11-26', 1)).toEqual({ from: '2026-10-01', to: '2026-12-31' })
    expect(fiscalQuarter('2026-11-26', 4)).toEqual({ from: '2026-10-01', to: '2026-12-31' })
    expect(fiscalQuarter('2026-11-26', 2)).toEqual({ from: '2026-11-01', to: '2027-01-31' })
    expect(fiscalQuarter('2027-02-28', 7)).toEqual({ from: '2027-01-01', to: '2027-03-31' })
    expect(fiscalYear('2026-02-10', 4)).toEqual({ from: '2025-04-01', to: '2026-03-31' })
    expect(fiscalYear('2024-02-29', 3)).toEqual({ from: '2023-03-01', to: '2024-02-29' })
  })

  it('buckets cover the range by month or fiscal quarter', () => {
    const q = buckets({ from: '2026-04-01', to: '2027-03-31' }, 'quarter', 4)
    expect(q.map((b) => b.key)).toEqual(['FY2026 Q1', 'FY2026 Q2', 'FY2026 Q3', 'FY2026 Q4'])
    expect(q[3]).toMatchObject({ from: '2027-01-01', to: '2027-03-31' })
    const m = buckets({ from: '2026-01-15', to: '2026-03-02' }, 'month', 1)
    expect(m.map((b) => b.key)).toEqual(['2026-01', '2026-02', '2026-03'])
  })

  it("today is the org's calendar date", () => {
    const instant = new Date('2026-11-26T17:30:00Z')
    expect(localDate(instant, 'Asia/Singapore')).toBe('2026-11-27')
    expect(localDate(instant, 'America/Los_Angeles')).toBe('2026-11-26')
  })
})

describe('CSV fields and record links', () => {
  it('quotes only what needs quoting', () => {
    expect(csvField('plain')).toBe('plain')
    expect(csvField('a,b')).toBe('"a,b"')
    expect(csvField('say "hi"')).toBe('"say ""hi"""')
    expect(csvField('two\nlines')).toBe('"two\nlines"')
    expect(csvField(null)).toBe('')
  })

  it('links to the deal in the org on its data centre', () => {
    const org = { id: '123', crmHost: 'https://crm.zoho.in/', domainName: null }
    expect(zohoDealUrl(org, '55')).toBe('https://crm.zoho.in/crm/org123/tab/Potentials/55')
    expect(zohoDealUrl({ ...org, domainName: 'acme' }, '55')).toBe(
      'https://crm.zoho.in/crm/acme/tab/Potentials/55',
    )
  })
})
