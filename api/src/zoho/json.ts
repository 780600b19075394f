/**
 * Lossless JSON for Zoho bodies. Zoho sends Amount, Exchange_Rate and Expected_Revenue as JSON
 * numbers; JSON.parse would round them through a double (12345678901234.567 is not representable).
 * Node 20 has no JSON.parse source access, so before parsing we rewrite the numeric literal of every
 * money key into a string literal holding exactly the digits Zoho sent.
 */

/** Keys whose numeric values are money or rates (standard Deal fields; currencies' exchange_rate). */
export const MONEY_KEYS: ReadonlySet<string> = new Set([
  'Amount',
  'Exchange_Rate',
  'Expected_Revenue',
  'exchange_rate',
])

/** A JSON number literal as a plain decimal string ("1.5E3" → "1500"), digits untouched. */
export function decimalFromLiteral(lit: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(lit)
  if (!m) throw new Error(`Not a JSON number: ${lit}`)
  const [, sign, int, frac = '', exp] = m
  if (exp === undefined) return lit
  let digits = int! + frac
  let point = int!.length + Number(exp)
  if (point <= 0) {
    digits = '0'.repeat(1 - point) + digits
    point = 1
  } else if (point > digits.length) digits += '0'.repeat(point - digits.length)
  let whole = digits.slice(0, point).replace(/^0+(?=\d)/, '')
  const rest = digits.slice(point).replace(/0+$/, '')
  if (whole === '') whole = '0'
  return `${sign}${whole}${rest ? '.' + rest : ''}`
}

/** `"key" : 123.4e5` for one set of keys; groups: key-and-colon, digits, exponent. */
function moneyPattern(keys: readonly string[]): RegExp {
  // API names only: the proof in quoteMoneyNumbers needs keys with no quote, backslash or
  // punctuation (and none of them is special in a regex).
  for (const k of keys) if (!/^\w+$/.test(k)) throw new Error(`Money key is not an API name: ${k}`)
  const ws = '[ \\t\\n\\r]*'
  return new RegExp(
    `("(?:${keys.join('|')})"${ws}:${ws})(-?(?:0|[1-9]\\d*)(?:\\.\\d+)?)([eE][+-]?\\d+)?`,
    'g',
  )
}
const patterns = new Map<string, RegExp>()

/** True when the quote at `i` is escaped (an odd run of backslashes before it). */
function escaped(text: string, i: number): boolean {
  let j = i
  while (text.charCodeAt(j - 1) === 92 /* \\ */) j--
  return (i - j) % 2 === 1
}

/**
 * Rewrites `"<money key>": <number>` into `"<money key>": "<decimal>"`, only where the key really is
 * an object key. One regex pass instead of tokenizing every string: in valid JSON an unescaped `"`
 * followed by a key (word characters, so not a closing quote: only ws , : } ] may follow one) opens a
 * string; that string ends at the key's closing quote, and a string followed by `:` is a key. So a
 * match is a key unless its opening quote is escaped, i.e. it sits inside some other string.
 */
export function quoteMoneyNumbers(text: string, keys: Iterable<string> = MONEY_KEYS): string {
  const list = [...keys]
  const id = list.join('|')
  let re = patterns.get(id)
  if (!re) patterns.set(id, (re = moneyPattern(list)))
  return text.replace(
    re,
    (match: string, head: string, digits: string, exp: string | undefined, at: number) =>
      escaped(text, at) ? match : `${head}"${exp ? decimalFromLiteral(digits + exp) : digits}"`,
  )
}

/** JSON.parse with money kept exact; extra money keys (custom currency fields) may be added. */
export function parseZohoJson(text: string, extraMoneyKeys?: Iterable<string>): unknown {
  return JSON.parse(quoteMoneyNumbers(text, extraMoneyKeys ? [...MONEY_KEYS, ...extraMoneyKeys] : MONEY_KEYS))
}
