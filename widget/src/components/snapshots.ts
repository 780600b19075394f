import { parseISO, subDays } from 'date-fns'
import { api } from '../endpoints'
import { iso, orgToday } from '../state'
import { defaultFrom } from './snapshot-days'
import { useResource } from './ui'

/**
 * The snapshotted days (the waterfall and "as of" answer only from them): the trend's points over
 * the last year. Defaults for A/B: the snapshotted day 30 days or more before the newest (or the
 * oldest), and the newest.
 */
export function useSnapshotRange() {
  // The org's last year: the browser's date can be another day (and then miss the newest snapshot).
  const today = orgToday.value
  const res = useResource(
    (signal) =>
      api.trend({ from: iso(subDays(parseISO(today), 365)), to: today }, signal).then((t) => {
        const days = t.points.map((p) => p.day)
        if (!days.length) return { first: null, last: null, defaultA: null }
        const first = days[0]!
        const last = days[days.length - 1]!
        return { first, last, defaultA: defaultFrom(days) }
      }),
    [today],
  )
  return res
}

export const NO_SNAPSHOTS =
  'No daily snapshots yet. The waterfall compares the snapshots of two days; the first is taken after midnight in the org’s time zone.'
