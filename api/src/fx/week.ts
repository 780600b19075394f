/** Weekly rate sets are keyed by the Monday (UTC calendar) of their week. Plain dates, no time zone. */

const DAY_MS = 86_400_000

/** YYYY-MM-DD of an instant, in UTC. */
export function utcDate(d: Date): string {
  return d.toISOString().slice(0, 10)
}

/** The Monday on or before a YYYY-MM-DD date. */
export function mondayOf(date: string): string {
  const d = new Date(`${date}T00:00:00Z`)
  if (Number.isNaN(d.getTime())) throw new RangeError(`Not a date: ${date}`)
  const sinceMonday = (d.getUTCDay() + 6) % 7
  return utcDate(new Date(d.getTime() - sinceMonday * DAY_MS))
}

/** Whole and fractional days between two instants. */
export function daysBetween(from: Date, to: Date): number {
  return (to.getTime() - from.getTime()) / DAY_MS
}
