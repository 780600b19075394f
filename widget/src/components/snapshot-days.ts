import { format, parseISO, subDays } from 'date-fns'

/**
 * The waterfall's default A among snapshotted days (ascending YYYY-MM-DD): the latest one at least
 * 30 days before the newest, else the oldest. Days can be missing (the server was down at midnight),
 * and the API answers only from days it has a snapshot of. parseISO reads a plain date as local
 * midnight, so the arithmetic never shifts a day in a time zone west of UTC.
 */
export function defaultFrom(days: string[]): string | null {
  const last = days.at(-1)
  if (!last) return null
  const back = format(subDays(parseISO(last), 30), 'yyyy-MM-dd')
  return days.filter((d) => d <= back).at(-1) ?? days[0]!
}
