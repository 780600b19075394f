import { currencyExponent, decimalToString, parseDecimal } from '#shared/money'

/*
 * The few exact steps SQL leaves to the analytics: rounding a numeric sum half-even to the base
 * currency's minor unit once (0.01 SGD, 1 JPY, 0.001 KWD: money()), exact means and ratios. Built
 * on shared/money's decimal parsing and text; bigint only, so no float ever touches an amount.
 */

const pow10 = (k: number) => 10n ** BigInt(k)

/** n ÷ d rounded half-even to an integer (d > 0 or < 0). */
export function divHalfEven(n: bigint, d: bigint): bigint {
  if (d === 0n) throw new Error('Division by zero')
  if (d < 0n) {
    n = -n
    d = -d
  }
  const neg = n < 0n
  const a = neg ? -n : n
  let q = a / d
  const r2 = (a % d) * 2n
  if (r2 > d || (r2 === d && q % 2n === 1n)) q += 1n
  return neg ? -q : q
}

/** A decimal string as an integer count of 10^-places units, rounded half-even. */
export function toUnits(s: string, places = 2): bigint {
  const { units, scale } = parseDecimal(s)
  return scale <= places ? units * pow10(places - scale) : divHalfEven(units, pow10(scale - places))
}

/** (value ÷ divisor) rounded half-even to `places`, exactly. value may be null (an empty sum) → "0.00". */
export function divRound(
  value: string | null | undefined,
  divisor: bigint | number = 1n,
  places = 2,
): string {
  const { units, scale } = parseDecimal(value ?? '0')
  const d = BigInt(divisor) * pow10(scale)
  return decimalToString({ units: divHalfEven(units * pow10(places), d), scale: places })
}

/**
 * A figure in `currency` (the org's base): (value ÷ divisor) rounded half-even to the currency's
 * minor unit once (ISO 4217 exponent: '2' JPY, '2.00' SGD, '2.000' KWD). value may be null (an
 * empty sum) → zero.
 */
export const money = (
  value: string | null | undefined,
  currency: string,
  divisor: bigint | number = 1n,
): string => divRound(value, divisor, currencyExponent(currency))

/** numerator ÷ denominator as a ratio with 4 places (half-even), or null when the denominator is 0. */
export function ratio(numerator: string | number, denominator: string | number, places = 4): string | null {
  const a = parseDecimal(String(numerator))
  const b = parseDecimal(String(denominator))
  if (b.units === 0n) return null
  // (a / 10^a.scale) / (b / 10^b.scale) = a × 10^b.scale / (b × 10^a.scale)
  const num = a.units * pow10(b.scale) * pow10(places)
  const den = b.units * pow10(a.scale)
  return decimalToString({ units: divHalfEven(num, den), scale: places })
}

/** Exact a + b + …, at the largest scale among them. */
export function addDecimals(...values: string[]): string {
  const scale = Math.max(0, ...values.map((v) => parseDecimal(v).scale))
  return decimalToString({ units: values.reduce((acc, v) => acc + toUnits(v, scale), 0n), scale })
}

/** Exact a − b, at the larger scale of the two. */
export function subtractDecimals(a: string, b: string): string {
  const scale = Math.max(parseDecimal(a).scale, parseDecimal(b).scale)
  return decimalToString({ units: toUnits(a, scale) - toUnits(b, scale), scale })
}
