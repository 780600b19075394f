import { endOfQuarter, endOfYear, startOfQuarter, startOfYear, subQuarters } from 'date-fns'
import type { ComponentChildren } from 'preact'
import { me } from '../app'
import { api } from '../endpoints'
import { iso, period, query, setParams } from '../state'
import { useResource } from './ui'

const now = new Date()
const PRESETS: { label: string; from: Date; to: Date }[] = [
  { label: 'This quarter', from: startOfQuarter(now), to: endOfQuarter(now) },
  { label: 'Last quarter', from: startOfQuarter(subQuarters(now, 1)), to: endOfQuarter(subQuarters(now, 1)) },
  { label: 'This year', from: startOfYear(now), to: endOfYear(now) },
]

/** Owners the viewer may filter by (their team); reps only ever see themselves. */
function OwnerSelect() {
  const p = period.value
  const res = useResource(() => api.byOwner({ from: p.from, to: p.to }), [p.from, p.to])
  const owners = res.data?.owners ?? []
  return (
    <label class="field">
      Owner
      <select
        name="owner"
        value={query.value.get('owner') ?? ''}
        onChange={(e) => setParams({ owner: (e.target as HTMLSelectElement).value, page: null })}
      >
        <option value="">Everyone I can see</option>
        {owners.map((o) => (
          <option key={o.ownerId} value={o.ownerId}>
            {o.ownerName ?? o.ownerId}
          </option>
        ))}
      </select>
    </label>
  )
}

/** Period P and the common filters; every change goes to the URL. */
export function FilterBar({
  stages,
  showPeriod = true,
  children,
}: {
  stages?: string[]
  showPeriod?: boolean
  children?: ComponentChildren
}) {
  const p = period.value
  const q = query.value
  const lead = me.value?.role !== 'rep'
  return (
    <form class="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
      {showPeriod && (
        <>
          <label class="field">
            Period from
            <input
              type="date"
              name="from"
              value={p.from}
              max={p.to}
              onChange={(e) => setParams({ from: (e.target as HTMLInputElement).value })}
            />
          </label>
          <label class="field">
            Period to
            <input
              type="date"
              name="to"
              value={p.to}
              min={p.from}
              onChange={(e) => setParams({ to: (e.target as HTMLInputElement).value })}
            />
          </label>
          <div class="row" role="group" aria-label="Period presets">
            {PRESETS.map((pr) => (
              <button
                key={pr.label}
                type="button"
                aria-pressed={p.from === iso(pr.from) && p.to === iso(pr.to)}
                onClick={() => setParams({ from: iso(pr.from), to: iso(pr.to) })}
              >
                {pr.label}
              </button>
            ))}
          </div>
        </>
      )}
      {stages && (
        <label class="field">
          Stage
          <select
            name="stage"
            value={q.get('stage') ?? ''}
            onChange={(e) => setParams({ stage: (e.target as HTMLSelectElement).value, page: null })}
          >
            <option value="">All stages</option>
            {stages.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      )}
      {lead && <OwnerSelect />}
      {children}
    </form>
  )
}
