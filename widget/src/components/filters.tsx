import { endOfQuarter, endOfYear, startOfQuarter, startOfYear, subQuarters } from 'date-fns'
import type { ComponentChildren } from 'preact'
import { me } from '../app'
import { api } from '../endpoints'
import { iso, period, query, setParams } from '../state'
import { DateField, SelectField } from './fields'
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
  const res = useResource((signal) => api.byOwner({ from: p.from, to: p.to }, signal), [p.from, p.to])
  const owners = res.data?.owners ?? []
  return (
    <SelectField
      label="Owner"
      name="owner"
      value={query.value.get('owner') ?? ''}
      options={[
        { value: '', label: 'Everyone I can see' },
        ...owners.map((o) => ({ value: o.ownerId, label: o.ownerName ?? o.ownerId })),
      ]}
      onChange={(owner) => setParams({ owner })}
    />
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
          <DateField
            label="Period from"
            name="from"
            value={p.from}
            max={p.to}
            onChange={(from) => setParams({ from })}
          />
          <DateField
            label="Period to"
            name="to"
            value={p.to}
            min={p.from}
            onChange={(to) => setParams({ to })}
          />
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
        <SelectField
          label="Stage"
          name="stage"
          value={q.get('stage') ?? ''}
          options={[{ value: '', label: 'All stages' }, ...stages]}
          onChange={(stage) => setParams({ stage })}
        />
      )}
      {lead && <OwnerSelect />}
      {children}
    </form>
  )
}
