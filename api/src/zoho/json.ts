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

const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y

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

/** Index just past the closing quote of the string literal that opens at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1
  for (;;) {
    const q = text.indexOf('"', i)
    if (q < 0) throw new SyntaxError('Unterminated string in JSON')
    let backslashes = 0
    for (let j = q - 1; text.charCodeAt(j) === 92; j--) backslashes++
    if (backslashes % 2 === 0) return q + 1
    i = q + 1
  }
}

const isWs = (c: number) => c === 32 || c === 9 || c === 10 || c === 13

/**
 * Rewrites `"<money key>": <number>` into `"<money key>": "<decimal>"`, only where the key really is
 * an object key (strings are skipped as whole tokens, so text inside values is never touched).
 */
export function quoteMoneyNumbers(text: string, keys: ReadonlySet<string> = MONEY_KEYS): string {
  let out = ''
  let copied = 0
  let i = 0
  const n = text.length
  while (i < n) {
    i = text.indexOf('"', i)
    if (i < 0) break
    const end = stringEnd(text, i)
    const key = text.slice(i + 1, end - 1)
    i = end
    if (!keys.has(key)) continue
    let j = end
    while (j < n && isWs(text.charCodeAt(j))) j++
    if (text.charCodeAt(j) !== 58 /* : */) continue
    j++
    while (j < n && isWs(text.charCodeAt(j))) j++
    NUMBER_RE.lastIndex = j
    const m = NUMBER_RE.exec(text)
    if (!m) continue
    out += text.slice(copied, j) + '"' + decimalFromLiteral(m[0]) + '"'
    copied = j + m[0].length
    i = copied
  }
  return copied === 0 ? text : out + text.slice(copied)
}

/** JSON.parse with money kept exact; extra money keys (custom currency fields) may be added. */
export function parseZohoJson(text: string, extraMoneyKeys?: Iterable<string>): unknown {
  const keys = extraMoneyKeys ? new Set([...MONEY_KEYS, ...extraMoneyKeys]) : MONEY_KEYS
  return JSON.parse(quoteMoneyNumbers(text, keys))
}
