/*
 * Exact decimal arithmetic on strings for the few steps SQL leaves to us: rounding a numeric sum
 * half-even to the cent once, exact means and ratios. bigint only: no float ever touches an amount.
 */

interface Scaled {
  n: bigint
  scale: number
}

export function parseDecimal(s: string): Scaled {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s.trim())
  if (!m) throw new Error(`Not a decimal: ${s}`)
  const frac = m[3] ?? ''
  const n = BigInt(m[2]! + frac)
  return { n: m[1] ? -n : n, scale: frac.length }
}

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

/** An integer count of 10^-places units as a decimal string, e.g. (12345n, 2) → "123.45". */
export function formatUnits(units: bigint, places = 2): string {
  const neg = units < 0n
  const digits = (neg ? -units : units).toString().padStart(places + 1, '0')
  const out = places ? `${digits.slice(0, -places)}.${digits.slice(-places)}` : digits
  return neg && units !== 0n ? `-${out}` : out
}

/** A decimal string as an integer count of 10^-places units, rounded half-even. */
export function toUnits(s: string, places = 2): bigint {
  const { n, scale } = parseDecimal(s)
  return scale <= places ? n * pow10(places - scale) : divHalfEven(n, pow10(scale - places))
}

/** (value ÷ divisor) rounded half-even to `places`, exactly. value may be null (an empty sum) → "0.00". */
export function divRound(
  value: string | null | undefined,
  divisor: bigint | number = 1n,
  places = 2,
): string {
  const { n, scale } = parseDecimal(value ?? '0')
  const d = BigInt(divisor) * pow10(scale)
  return formatUnits(divHalfEven(n * pow10(places), d), places)
}

/** Round a numeric sum half-even to the cent, once. */
export const cents = (value: string | null | undefined): string => divRound(value, 1n, 2)

/** numerator ÷ denominator as a ratio with 4 places (half-even), or null when the denominator is 0. */
export function ratio(numerator: string | number, denominator: string | number, places = 4): string | null {
  const a = parseDecimal(String(numerator))
  const b = parseDecimal(String(denominator))
  if (b.n === 0n) return null
  // (a.n / 10^a.scale) / (b.n / 10^b.scale) = a.n * 10^b.scale / (b.n * 10^a.scale)
  const num = a.n * pow10(b.scale) * pow10(places)
  const den = b.n * pow10(a.scale)
  return formatUnits(divHalfEven(num, den), places)
}

export function addDecimals(...values: string[]): string {
  const max = Math.max(0, ...values.map((v) => parseDecimal(v).scale))
  return formatUnits(
    values.reduce((acc, v) => acc + toUnits(v, max), 0n),
    max,
  )
}

export function subtractDecimals(a: string, b: string): string {
  const max = Math.max(parseDecimal(a).scale, parseDecimal(b).scale)
  return formatUnits(toUnits(a, max) - toUnits(b, max), max)
}
