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

export const days = (n: number | null | undefined) =>
  n === null || n === undefined ? '—' : `${Math.round(n * 10) / 10} day${n === 1 ? '' : 's'}`

/** "1 deal", "2 deals" */
export const plural = (n: number, one: string, many = `${one}s`) => `${num(n)} ${n === 1 ? one : many}`
