import { format, formatDistanceToNowStrict, parseISO } from 'date-fns'

import { formatMoney } from '#shared/money'

/**
 * Display formatting. Amounts arrive as exact decimal strings and go to the shared formatMoney as
 * strings (no float round-trip); only charts use Number() for plotting.
 */
export function money(amount: string | null | undefined, currency = 'SGD'): string {
  if (amount === null || amount === undefined || amount === '') return '—'
  return formatMoney(amount, currency, 'en')
}

/** An amount in its own currency, with the ISO code when the symbol alone would be ambiguous ($). */
export function moneyIn(amount: string | null | undefined, currency: string): string {
  const s = money(amount, currency)
  return s === '—' || s.includes(currency) ? s : `${s} ${currency}`
}

/** Short form for tiles and axes: SGD 1.2M. Display only. */
export function compactMoney(amount: string | number | null | undefined, currency = 'SGD'): string {
  if (amount === null || amount === undefined || amount === '') return '—'
  const n = Number(amount)
  const abs = Math.abs(n)
  const [d, s] = abs >= 1e9 ? [1e9, 'B'] : abs >= 1e6 ? [1e6, 'M'] : abs >= 1e3 ? [1e3, 'K'] : [1, '']
  return `${currency} ${(n / d).toFixed(d === 1 ? 0 : 1).replace(/\.0$/, '')}${s}`
}

export const num = (n: number | null | undefined) =>
  n === null || n === undefined ? '—' : n.toLocaleString('en')

export function pct(ratio: number | string | null | undefined, digits = 1): string {
  if (ratio === null || ratio === undefined || ratio === '') return '—'
  return `${(Number(ratio) * 100).toFixed(digits)}%`
}

export function date(d: string | null | undefined): string {
  if (!d) return '—'
  const parsed = parseISO(d)
  return isNaN(parsed.getTime()) ? d : format(parsed, 'd MMM yyyy')
}

export function dateTime(d: string | null | undefined): string {
  if (!d) return '—'
  const parsed = parseISO(d)
  return isNaN(parsed.getTime()) ? d : format(parsed, 'd MMM yyyy, HH:mm')
}

export function ago(d: string | null | undefined): string {
  if (!d) return 'never'
  const parsed = parseISO(d)
  return isNaN(parsed.getTime()) ? d : `${formatDistanceToNowStrict(parsed)} ago`
}

/** "1 day", "1.5 days": singular or plural by the figure shown (0.96 shows as "1 day", not "1 days"). */
export function days(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—'
  const shown = Math.round(n * 10) / 10
  return `${shown.toLocaleString('en')} day${shown === 1 ? '' : 's'}`
}

/**
 * A message from the API with ISO dates in it ("Closing date 2026-02-26 has passed"), its dates in
 * the format the columns use ("26 Feb 2026").
 */
export const datesIn = (text: string) => text.replace(/\b\d{4}-\d{2}-\d{2}\b/g, (d) => date(d))

/** "1 deal", "2 deals" */
export const plural = (n: number, one: string, many = `${one}s`) => `${num(n)} ${n === 1 ? one : many}`
