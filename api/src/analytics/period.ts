/*
 * Calendar dates as 'YYYY-MM-DD' strings. Arithmetic is done on UTC midnights, so no time zone can
 * shift a plain date; "today" is the date in the org's time zone.
 */

import { badRequest, type AppError } from '../http/errors'

const toUtc = (d: string) => new Date(`${d}T00:00:00Z`)
const fromUtc = (d: Date) => d.toISOString().slice(0, 10)

export function localDate(instant: Date, timeZone: string): string {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(instant)
}

export function addDays(day: string, n: number): string {
  const d = toUtc(day)
  d.setUTCDate(d.getUTCDate() + n)
  return fromUtc(d)
}

/** First day of the month `n` months after the month of `day`. */
export function addMonthsToMonthStart(day: string, n: number): string {
  const d = toUtc(day)
  return fromUtc(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1)))
}

export function daysBetween(from: string, to: string): number {
  return Math.round((toUtc(to).getTime() - toUtc(from).getTime()) / 86_400_000)
}

export interface Period {
  from: string
  to: string
}

/** The fiscal quarter containing `day`, fiscal years starting in month `fyStart` (1 = January). */
export function fiscalQuarter(day: string, fyStart: number): Period {
  const d = toUtc(day)
  const offset = (d.getUTCMonth() + 1 - fyStart + 12) % 12
  const start = addMonthsToMonthStart(day, -(offset % 3))
  return { from: start, to: addDays(addMonthsToMonthStart(start, 3), -1) }
}

/** The fiscal year containing `day`. */
export function fiscalYear(day: string, fyStart: number): Period {
  const d = toUtc(day)
  const offset = (d.getUTCMonth() + 1 - fyStart + 12) % 12
  const start = addMonthsToMonthStart(day, -offset)
  return { from: start, to: addDays(addMonthsToMonthStart(start, 12), -1) }
}

/**
 * A period from optional bounds, defaulting to `current` (the fiscal quarter or year containing
 * today). A lone bound beyond `current` takes its partner from `around(bound)`, the same kind of
 * period around the day given: a lone `from` after the current quarter ends with its own quarter,
 * never an inverted period whose `to` the user did not send. Only two bounds given can be inverted:
 * the caller refuses those.
 */
export function periodWithin(
  p: { from?: string; to?: string },
  current: Period,
  around: (day: string) => Period,
): Period {
  const from = p.from ?? (p.to !== undefined && p.to < current.from ? around(p.to).from : current.from)
  const to = p.to ?? (p.from !== undefined && p.from > current.to ? around(p.from).to : current.to)
  return { from, to }
}

/** The 400 for a period sent inverted (from after to), naming both parameters and their values. */
export function periodInverted(p: Period, names: [string, string] = ['from', 'to']): AppError {
  return badRequest(
    `${names[0]} (${p.from}) is after ${names[1]} (${p.to}): ${names[0]} must be on or before ${names[1]}`,
    'INVALID_INPUT',
  )
}

/** Fiscal label: FY named by the calendar year in which it starts, quarters Q1..Q4 from its start. */
export function fiscalQuarterLabel(quarterStart: string, fyStart: number): string {
  const fy = fiscalYear(quarterStart, fyStart)
  const q = Math.floor(((toUtc(quarterStart).getUTCMonth() + 1 - fyStart + 12) % 12) / 3) + 1
  return `FY${fy.from.slice(0, 4)} Q${q}`
}

/** The most buckets one response carries (20 years of months). */
export const MAX_BUCKETS = 240

/**
 * Consecutive month or fiscal-quarter buckets covering exactly [from, to]: the first and last are
 * clipped to from and to (a range starting mid-quarter reports that quarter from `from`, the days it
 * counts), keys still naming the whole month or quarter. Stops after max + 1 buckets, so a caller
 * sees that the range needs more than max (and must refuse it) without building thousands.
 */
export function buckets(
  p: Period,
  size: 'month' | 'quarter',
  fyStart: number,
  max = MAX_BUCKETS,
): (Period & { key: string })[] {
  const out: (Period & { key: string })[] = []
  let start = size === 'month' ? addMonthsToMonthStart(p.from, 0) : fiscalQuarter(p.from, fyStart).from
  while (start <= p.to && out.length <= max) {
    const next = addMonthsToMonthStart(start, size === 'month' ? 1 : 3)
    const end = addDays(next, -1)
    out.push({
      key: size === 'month' ? start.slice(0, 7) : fiscalQuarterLabel(start, fyStart),
      from: start < p.from ? p.from : start,
      to: end > p.to ? p.to : end,
    })
    start = next
  }
  return out
}
