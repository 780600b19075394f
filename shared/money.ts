import {
  add,
  calculator,
  dinero,
  halfEven,
  toDecimal,
  type Dinero,
  type DineroCurrency,
} from 'dinero.js/bigint'
import * as isoCurrencies from 'dinero.js/bigint/currencies'

/*
 * Exact money maths shared by the API and the widget (no Node APIs). Amounts travel as decimal
 * strings; maths is done on bigints and dinero.js objects; nothing ever passes through a float.
 *
 * The money contract (DESIGN.md): base value = Amount × (rate_base ÷ rate_CUR), the rates being the
 * provider's units per 1 USD, computed as an exact fraction and rounded half-even to the base
 * currency's minor unit (0.01 for SGD) once. Weighted = base value × probability ÷ 100, exact; sums
 * are exact and rounded half-even once, at the end.
 */

const DECIMAL = /^([+-])?(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$|^([+-])?\.(\d+)(?:[eE]([+-]?\d+))?$/

/** A decimal number: units × 10^-scale. */
export interface Decimal {
  units: bigint
  scale: number
}

/** An exact rate as a fraction (den > 0): base-currency units per one unit of another currency. */
export interface ExactRate {
  num: bigint
  den: bigint
}

/** The common shape (CRM amounts, provider quotes): parsed without the general pattern's groups. */
const PLAIN_DECIMAL = /^-?\d+(?:\.\d+)?$/

/** Parse a decimal string ("-12.50", "1.5E7", ".25") exactly; throws on anything else. */
export function parseDecimal(value: string): Decimal {
  if (PLAIN_DECIMAL.test(value)) {
    const dot = value.indexOf('.')
    if (dot < 0) return { units: BigInt(value), scale: 0 }
    return { units: BigInt(value.slice(0, dot) + value.slice(dot + 1)), scale: value.length - dot - 1 }
  }
  const m = DECIMAL.exec(value.trim())
  if (!m) throw new RangeError(`Not a decimal number: ${JSON.stringify(value)}`)
  const sign = (m[1] ?? m[5]) === '-' ? -1n : 1n
  const whole = m[2] ?? '0'
  const frac = m[3] ?? m[6] ?? ''
  const exp = Number(m[4] ?? m[7] ?? 0)
  let units = BigInt(whole + frac) * sign
  let scale = frac.length - exp
  if (scale < 0) {
    units *= 10n ** BigInt(-scale)
    scale = 0
  }
  return { units, scale }
}

export function isDecimal(value: string): boolean {
  return DECIMAL.test(value.trim())
}

/** Plain decimal notation with exactly `scale` fraction digits. */
export function decimalToString({ units, scale }: Decimal): string {
  const negative = units < 0n
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0')
  const whole = digits.slice(0, digits.length - scale)
  const frac = scale > 0 ? `.${digits.slice(digits.length - scale)}` : ''
  return `${negative ? '-' : ''}${whole}${frac}`
}

/** Drop trailing fraction zeros, keeping at least `minScale` fraction digits. */
export function trimDecimal(d: Decimal, minScale = 0): Decimal {
  let { units, scale } = d
  while (scale > minScale && units % 10n === 0n) {
    units /= 10n
    scale--
  }
  return { units, scale }
}

/** The canonical text of a decimal string: plain notation, no trailing fraction zeros. */
export function normalizeDecimal(value: string, minScale = 0): string {
  return decimalToString(trimDecimal(parseDecimal(value), minScale))
}

// ------------------------------------------------------------------------------------- currencies

const CURRENCIES = isoCurrencies as unknown as Record<string, DineroCurrency<bigint>>

/** A dinero currency for any code: ISO 4217 exponent when known (JPY 0, KWD/BHD 3), else 2. */
export function currencyOf(code: string): DineroCurrency<bigint> {
  return CURRENCIES[code.toUpperCase()] ?? { code: code.toUpperCase(), base: 10n, exponent: 2n }
}

const EXPONENTS = new Map<string, number>()

/** Minor-unit digits of a currency: JPY 0, SGD 2, KWD 3. Unknown codes: 2. Memoised per code. */
export function currencyExponent(code: string): number {
  let exp = EXPONENTS.get(code)
  if (exp === undefined) {
    exp = Number(currencyOf(code).exponent)
    if (EXPONENTS.size >= 1024) EXPONENTS.clear() // codes come from CRM data: keep the memo bounded
    EXPONENTS.set(code, exp)
  }
  return exp
}

/** A dinero object holding a decimal string exactly, at the string's own scale (≥ the exponent). */
export function toDinero(value: string, currency: string): Dinero<bigint> {
  const cur = currencyOf(currency)
  const d = parseDecimal(value)
  const scale = Math.max(d.scale, Number(cur.exponent))
  return dinero({ amount: d.units * 10n ** BigInt(scale - d.scale), currency: cur, scale: BigInt(scale) })
}

/** Round half-even to `digits` fraction digits (dinero rounds down unless told otherwise). */
export function roundHalfEven(value: string, digits: number): string {
  const d = parseDecimal(value)
  return decimalToString({ units: roundUnits(d, digits), scale: digits })
}

/**
 * The units of a decimal rounded half-even to `digits` fraction digits (exact when it has no more
 * digits than that): the same rounding dinero's transformScale(…, halfEven) does, without the object.
 */
function roundUnits(d: Decimal, digits: number): bigint {
  return d.scale <= digits
    ? d.units * pow10(digits - d.scale)
    : divideHalfEven(d.units, pow10(d.scale - digits))
}

/** Round half-even to the currency's minor unit: roundMoney('61.705', 'SGD') = '61.70'. */
export function roundMoney(value: string, currency: string): string {
  return roundHalfEven(value, currencyExponent(currency))
}

// ------------------------------------------------------------------------------------------ rates

const POW10: bigint[] = Array.from({ length: 64 }, (_, i) => 10n ** BigInt(i))

function pow10(n: number): bigint {
  return POW10[n] ?? 10n ** BigInt(n)
}

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a
  while (b) [a, b] = [b, a % b]
  return a
}

function reduce(num: bigint, den: bigint): ExactRate {
  if (den === 0n) throw new RangeError('Rate with a zero denominator')
  if (den < 0n) [num, den] = [-num, -den]
  const g = gcd(num, den) || 1n
  return { num: num / g, den: den / g }
}

export const IDENTITY_RATE: ExactRate = { num: 1n, den: 1n }

/** A decimal string as an exact rate. */
export function rateFromDecimal(value: string): ExactRate {
  const d = parseDecimal(value)
  return reduce(d.units, pow10(d.scale))
}

/**
 * Base units per one unit of `from`, from two quotes of one provider set (units per 1 USD):
 * rate_base ÷ rate_from, exactly.
 */
export function crossRate(perUsdBase: string, perUsdFrom: string): ExactRate {
  const b = parseDecimal(perUsdBase)
  const f = parseDecimal(perUsdFrom)
  if (b.units <= 0n || f.units <= 0n) throw new RangeError('Provider rates must be positive')
  return reduce(b.units * pow10(f.scale), f.units * pow10(b.scale))
}

/**
 * Base units per one unit of a deal currency through Zoho's per-record Exchange_Rate (deal-currency
 * units per one home-currency unit): Amount ÷ Exchange_Rate is in home currency, then home → base.
 */
export function viaHomeRate(zohoExchangeRate: string, homeToBase: ExactRate): ExactRate {
  const x = parseDecimal(zohoExchangeRate)
  if (x.units <= 0n) throw new RangeError('Zoho Exchange_Rate must be positive')
  return reduce(homeToBase.num * pow10(x.scale), homeToBase.den * x.units)
}

/** Exact division rounded half-even to an integer, with dinero's own half-even rule. */
function divideHalfEven(num: bigint, den: bigint): bigint {
  return halfEven(num, den, calculator)
}

/**
 * The base-currency value of an amount: Amount × rate computed exactly and rounded half-even to the
 * base currency's minor unit once. A null Amount counts as 0.
 */
export function convertToBase(amount: string | null, rate: ExactRate, baseCurrency = 'SGD'): string {
  const exp = currencyExponent(baseCurrency)
  return decimalToString({ units: convertUnits(parseDecimal(amount ?? '0'), rate, exp), scale: exp })
}

/**
 * convertToBase on a parsed amount (null Amount: { units: 0n, scale: 0 }): the value's units at `exp`
 * fraction digits, `exp` being the base currency's minor-unit digits.
 */
export function convertUnits(amount: Decimal, rate: ExactRate, exp: number): bigint {
  // an integer rate (SGD → SGD is 1) and an amount within the minor unit: exact, nothing to round
  if (rate.den === 1n && amount.scale <= exp) return amount.units * rate.num * pow10(exp - amount.scale)
  return divideHalfEven(amount.units * rate.num * pow10(exp), rate.den * pow10(amount.scale))
}

/**
 * Per rate object: its exact text, or its 30-digit neighbours, nearest first, with their texts
 * (rates are reused across deals).
 */
type RateDigits =
  | { exact: string }
  | { exact?: undefined; first: Decimal; second: Decimal; firstText: string; secondText: string }
const RATE_DIGITS = new WeakMap<ExactRate, RateDigits>()

function rateDigits(rate: ExactRate): RateDigits {
  let digits = RATE_DIGITS.get(rate)
  if (!digits) {
    const exact = terminatingDecimal(rate, 40)
    if (exact) digits = { exact: decimalToString(trimDecimal(exact)) }
    else {
      const [lo, hi, nearest] = approximate(rate, 30)
      const [first, second] = nearest === 'lo' ? [lo, hi] : [hi, lo]
      digits = {
        first,
        second,
        firstText: decimalToString(trimDecimal(first)),
        secondText: decimalToString(trimDecimal(second)),
      }
    }
    RATE_DIGITS.set(rate, digits)
  }
  return digits
}

/** roundHalfEven(multiplyDecimals(amount, r), exp) as units at `exp` digits, in bigint arithmetic. */
function productUnits(amount: Decimal, r: Decimal, exp: number): bigint {
  return roundUnits({ units: amount.units * r.units, scale: amount.scale + r.scale }, exp)
}

/**
 * The rate as a decimal string that reproduces the value: roundHalfEven(amount × rate, exponent)
 * equals convertToBase(amount, rate). Exact when the fraction terminates (within 40 significant
 * digits); otherwise 30 significant digits, rounded towards whichever side gives the same cent (only
 * an exact half-cent tie needs the choice). Thirty digits keep every Zoho amount (≤ 16 digits) far
 * inside one cent.
 */
export function rateToDecimal(
  rate: ExactRate,
  amount: string | null,
  baseCurrency = 'SGD',
  /** convertToBase(amount, rate, baseCurrency) when the caller has it already. */
  value?: string,
): string {
  const digits = rateDigits(rate)
  if (digits.exact !== undefined) return digits.exact
  const exp = currencyExponent(baseCurrency)
  const a = parseDecimal(amount ?? '0')
  if (value === undefined) return rateText(rate, a, exp, convertUnits(a, rate, exp))
  const units = productUnits(a, digits.first, exp)
  return decimalToString({ units, scale: exp }) === value ? digits.firstText : digits.secondText
}

/**
 * rateToDecimal on a parsed amount (null Amount: { units: 0n, scale: 0 }), `valueUnits` being
 * convertUnits(amount, rate, exp): the nearer 30-digit neighbour unless only the other one rounds
 * to the same units. No strings are built but the cached rate texts.
 */
export function rateText(rate: ExactRate, amount: Decimal, exp: number, valueUnits: bigint): string {
  const digits = rateDigits(rate)
  if (digits.exact !== undefined) return digits.exact
  return productUnits(amount, digits.first, exp) === valueUnits ? digits.firstText : digits.secondText
}

/** Lower and upper neighbours of the rate at `sig` significant digits, and which one is nearer. */
export function approximate(rate: ExactRate, sig: number): [Decimal, Decimal, 'lo' | 'hi'] {
  const { num, den } = rate
  if (num <= 0n) return [{ units: 0n, scale: 0 }, { units: 0n, scale: 0 }, 'lo']
  // scale so that floor(num × 10^scale / den) has `sig` digits
  const intDigits = (num / den).toString().length
  let scale = num >= den ? sig - intDigits : sig
  if (num < den) {
    // leading zeros after the point: count how far the first digit is
    let probe = num * 10n
    let zeros = 0
    while (probe < den) {
      probe *= 10n
      zeros++
    }
    scale = sig + zeros
  }
  scale = Math.max(scale, 0)
  const scaled = num * pow10(scale)
  const q = scaled / den
  const r = scaled % den
  const lo = { units: q, scale }
  const hi = { units: r === 0n ? q : q + 1n, scale }
  return [lo, hi, 2n * r > den || (2n * r === den && q % 2n !== 0n) ? 'hi' : 'lo']
}

/** The fraction as an exact decimal if its denominator has only factors 2 and 5 (and it is short). */
export function terminatingDecimal(rate: ExactRate, maxDigits: number): Decimal | null {
  let d = rate.den
  let twos = 0
  let fives = 0
  while (d % 2n === 0n) {
    d /= 2n
    twos++
  }
  while (d % 5n === 0n) {
    d /= 5n
    fives++
  }
  if (d !== 1n) return null
  const scale = Math.max(twos, fives)
  const units = (rate.num * pow10(scale)) / rate.den
  if (units.toString().replace('-', '').length > maxDigits) return null
  return { units, scale }
}

/** Exact product of two decimal strings. */
export function multiplyDecimals(a: string, b: string): string {
  const x = parseDecimal(a)
  const y = parseDecimal(b)
  return decimalToString({ units: x.units * y.units, scale: x.scale + y.scale })
}

// ------------------------------------------------------------------------------------ aggregates

/**
 * Weighted value = base value × probability ÷ 100, exact (not rounded: sums round once). The text
 * keeps at least the base currency's minor digits: weighted('123.45', 50) = '61.725'.
 */
export function weighted(amountBase: string, probability: number, baseCurrency = 'SGD'): string {
  checkProbability(probability)
  return weightedExact(parseDecimal(amountBase), probability, currencyExponent(baseCurrency))
}

function checkProbability(probability: number): void {
  if (!Number.isInteger(probability) || probability < 0 || probability > 100)
    throw new RangeError(`Probability must be an integer 0-100, got ${probability}`)
}

/** weighted() on a parsed base value, `exp` being the base currency's minor-unit digits. */
export function weightedText(amountBase: Decimal, probability: number, exp: number): string {
  checkProbability(probability)
  return weightedExact(amountBase, probability, exp)
}

function weightedExact(amountBase: Decimal, probability: number, exp: number): string {
  const exact = { units: amountBase.units * BigInt(probability), scale: amountBase.scale + 2 }
  return decimalToString(trimDecimal(exact, Math.max(exp, 0)))
}

/** Exact sum of decimal strings (nulls skipped), at the largest scale among them. */
export function sumDecimals(values: Iterable<string | null | undefined>, currency = 'SGD'): string {
  const cur = currencyOf(currency)
  let total: Dinero<bigint> = dinero({ amount: 0n, currency: cur, scale: cur.exponent })
  for (const v of values) if (v !== null && v !== undefined) total = add(total, toDinero(v, currency))
  return toDecimal(total)
}

/** Exact sum rounded half-even to the currency's minor unit once. */
export function sumMoney(values: Iterable<string | null | undefined>, currency = 'SGD'): string {
  return roundMoney(sumDecimals(values, currency), currency)
}

// ------------------------------------------------------------------------------------- formatting

/**
 * Localised money text, rounded half-even to the currency's minor unit:
 * formatMoney('1234.5', 'SGD', 'en-SG') = '$1,234.50'; formatMoney('1234', 'JPY', 'en-US') = '¥1,234'.
 * The number reaches Intl as a decimal string, so large amounts keep every digit.
 */
export function formatMoney(amount: string, currency: string, locale?: string): string {
  const code = currency.toUpperCase()
  const exp = currencyExponent(code)
  const rounded = roundHalfEven(amount, exp)
  const digits = { minimumFractionDigits: exp, maximumFractionDigits: exp, roundingMode: 'halfEven' }
  const value = rounded as unknown as number // Intl formats a decimal string exactly (ES2023)
  try {
    const options = { style: 'currency', currency: code, ...digits } as Intl.NumberFormatOptions
    return new Intl.NumberFormat(locale, options).format(value)
  } catch {
    // a code Intl refuses (not 3 letters): plain number and the code
    return `${code} ${new Intl.NumberFormat(locale, digits as Intl.NumberFormatOptions).format(value)}`
  }
}
