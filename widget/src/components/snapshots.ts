import { subDays } from 'date-fns'
import { api } from '../endpoints'
import { iso } from '../state'
import { defaultFrom } from './snapshot-days'
import { useResource } from './ui'

/**
 * The snapshotted days (the waterfall and "as of" answer only from them): the trend's points over
 * the last year. Defaults for A/B: the snapshotted day 30 days or more before the newest (or the
 * oldest), and the newest.
 */
export function useSnapshotRange() {
  const res = useResource(
    (signal) =>
      api.trend({ from: iso(subDays(new Date(), 365)), to: iso(new Date()) }, signal).then((t) => {
        const days = t.points.map((p) => p.day)
        if (!days.length) return { first: null, last: null, defaultA: null }
        const first = days[0]!
        const last = days[days.length - 1]!
        return { first, last, defaultA: defaultFrom(days) }
      }),
    [],
  )
  return res
}

export const NO_SNAPSHOTS =
  'No daily snapshots yet. The waterfall compares the snapshots of two days; the first is taken after midnight in the org’s time zone.'
