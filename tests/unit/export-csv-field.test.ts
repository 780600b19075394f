import { describe, expect, it } from 'vitest'
import { csvField, exportHeader } from '../../api/src/analytics/export'
import { EXPORT_COLUMNS } from '../../shared/contracts/deals'
import { dispositionFilename } from '../../widget/src/api'

describe('CSV fields a spreadsheet cannot run', () => {
  it('quotes and prefixes text that starts like a formula (OWASP CSV injection)', () => {
    expect(csvField('=1+1')).toBe(`"'=1+1"`)
    expect(csvField('+65 6123 4567')).toBe(`"'+65 6123 4567"`)
    expect(csvField('-x')).toBe(`"'-x"`)
    expect(csvField('@SUM(A1)')).toBe(`"'@SUM(A1)"`)
    expect(csvField('\t=1')).toBe(`"'\t=1"`)
    expect(csvField('\r=1')).toBe(`"'\r=1"`)
    expect(csvField('=HYPERLINK("x","y")')).toBe(`"'=HYPERLINK(""x"",""y"")"`)
  })

  it('leaves plain and negative numbers, and text with = inside, as they were', () => {
    expect(csvField('-1250.50')).toBe('-1250.50')
    expect(csvField('-3')).toBe('-3')
    expect(csvField(-3)).toBe('-3')
    expect(csvField('a=b')).toBe('a=b')
    expect(csvField('Müller GmbH')).toBe('Müller GmbH')
  })

  it("names the base-currency columns after the org's base currency", () => {
    expect(exportHeader('SGD')).toEqual([...EXPORT_COLUMNS])
    expect(exportHeader('USD')).toContain('amount_usd')
    expect(exportHeader('USD')).toContain('weighted_usd')
  })
})

describe('the saved file name', () => {
  it('comes from Content-Disposition when the server sends one', () => {
    expect(dispositionFilename('attachment; filename="deals-2026-11-26.csv"')).toBe('deals-2026-11-26.csv')
    expect(dispositionFilename('attachment; filename=deals.csv')).toBe('deals.csv')
    expect(dispositionFilename(`attachment; filename="a.csv"; filename*=UTF-8''M%C3%BCller.csv`)).toBe(
      'Müller.csv',
    )
    expect(dispositionFilename('attachment')).toBeNull()
    expect(dispositionFilename(null)).toBeNull()
  })
})
