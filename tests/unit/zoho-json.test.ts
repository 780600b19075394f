import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decimalFromLiteral, MONEY_KEYS, parseZohoJson, quoteMoneyNumbers } from '../../api/src/zoho/json'

describe('lossless money parsing', () => {
  it('rewrites only real money keys, never text inside string values', () => {
    const text =
      '{"Description":"say \\"Amount\\": 5 and \\\\","Amount":12.30,"Note":"Amount","x":{"Exchange_Rate" : -1.5e2},' +
      '"list":[{"Expected_Revenue":0}],"Probability":10,"Amount_Other":1.1}'
    const parsed = parseZohoJson(text) as Record<string, any>
    expect(parsed.Description).toBe('say "Amount": 5 and \\')
    expect(parsed.Amount).toBe('12.30')
    expect(parsed.Note).toBe('Amount')
    expect(parsed.x.Exchange_Rate).toBe('-150')
    expect(parsed.list[0].Expected_Revenue).toBe('0')
    expect(parsed.Probability).toBe(10)
    expect(parsed.Amount_Other).toBe(1.1)
  })

  it('leaves a money key alone when its opening quote is escaped (text inside another string)', () => {
    // Keys `x"Amount` and `y\"Amount` (an escaped backslash, then an escaped quote), values with
    // `"Amount": 5` written inside them, then real keys after even runs of backslashes.
    const text =
      String.raw`{"x\"Amount":1.5,"y\\\"Amount" : 2.5,"Deal_Name":"a \"Amount\": 5 \\\"Amount\":6",` +
      String.raw`"z":"\\","Amount":7.10,"w":"\\\\","Expected_Revenue":1e-2}`
    expect(parseZohoJson(text)).toEqual({
      'x"Amount': 1.5,
      'y\\"Amount': 2.5,
      Deal_Name: 'a "Amount": 5 \\"Amount":6',
      z: '\\',
      Amount: '7.10',
      w: '\\\\',
      Expected_Revenue: '0.01',
    })
  })

  it('refuses extra money keys that are not API names', () => {
    expect(() => parseZohoJson('{}', ['Bad"Key'])).toThrow(/not an API name/)
  })

  it('leaves null, strings and bodies without money untouched', () => {
    const text = '{"Amount":null,"Exchange_Rate":"74.250000000","id":"5725767000003000064"}'
    expect(quoteMoneyNumbers(text)).toBe(text)
    expect(parseZohoJson(text)).toEqual({
      Amount: null,
      Exchange_Rate: '74.250000000',
      id: '5725767000003000064',
    })
  })

  it('accepts extra money keys (custom currency fields)', () => {
    expect(parseZohoJson('{"Deal_Value__c":0.30000000000000004}', ['Deal_Value__c'])).toEqual({
      Deal_Value__c: '0.30000000000000004',
    })
  })

  it('turns exponent literals into plain decimals', () => {
    expect(decimalFromLiteral('1.5E3')).toBe('1500')
    expect(decimalFromLiteral('1.25e-3')).toBe('0.00125')
    expect(decimalFromLiteral('-12e0')).toBe('-12')
    expect(decimalFromLiteral('123.45')).toBe('123.45')
  })

  it('round-trips any decimal exactly, wherever it sits in the body', () => {
    const decimal = fc
      .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 18n }), fc.integer({ min: 0, max: 6 }))
      .map(([neg, digits, scale]) => {
        const s = digits.toString().padStart(scale + 1, '0')
        const lit = scale ? `${s.slice(0, -scale)}.${s.slice(-scale)}` : s
        return (neg && digits !== 0n ? '-' : '') + lit
      })
    fc.assert(
      fc.property(decimal, fc.string(), (amount, noise) => {
        const text = `{"data":[{"note":${JSON.stringify(noise)},"Amount" :\n${amount},"Expected_Revenue":${amount}}]}`
        const out = parseZohoJson(text) as {
          data: { note: string; Amount: string; Expected_Revenue: string }[]
        }
        expect(out.data[0]).toEqual({ note: noise, Amount: amount, Expected_Revenue: amount })
      }),
      { numRuns: 300 },
    )
  })

  it('rewrites exactly the money keys of any JSON document, whatever its strings hold', () => {
    // Keys and strings drawn from money keys, quotes, backslashes and `"Amount": 1` fragments.
    const bits = ['Amount', 'Expected_Revenue', '"', '\\', '"Amount": 1', '\\"Amount\\":2', ': 3', ' ', 'x']
    const text = fc.array(fc.constantFrom(...bits), { maxLength: 6 }).map((xs) => xs.join(''))
    const key = fc.oneof(fc.constantFrom('Amount', 'Exchange_Rate', 'exchange_rate', 'Probability'), text)
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer(),
        text,
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(key, tie('value'), { maxKeys: 4 }),
      ),
    }))
    // The oracle: JSON.parse, then every money key's number as the decimal of its literal.
    const expected = (v: unknown, k?: string): unknown => {
      if (typeof v === 'number' && k !== undefined && MONEY_KEYS.has(k))
        return decimalFromLiteral(JSON.stringify(v))
      if (Array.isArray(v)) return v.map((x) => expected(x))
      if (v && typeof v === 'object')
        return Object.fromEntries(Object.entries(v).map(([kk, x]) => [kk, expected(x, kk)]))
      return v
    }
    fc.assert(
      fc.property(value, fc.constantFrom(0, 1), (v, indent) => {
        const body = JSON.stringify(v, null, indent)
        expect(parseZohoJson(body)).toEqual(expected(JSON.parse(body)))
      }),
      { numRuns: 500 },
    )
  })
})
