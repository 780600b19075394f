import { endOfQuarter, endOfYear, startOfQuarter, startOfYear, subQuarters } from 'date-fns'
import type { ComponentChildren } from 'preact'
import { api } from '../endpoints'
import { iso, me, period, query, setParams } from '../state'
import { DateField, SelectField } from './fields'
import { useResource } from './ui'

/**
 * Period presets: the org's fiscal quarters and year around the org's today, as /me states them
 * (the browser's calendar would ignore the fiscal year and, near midnight, be a day off). Calendar
 * periods in the browser's zone only until /me has answered.
 */
function presets(): { label: string; from: string; to: string }[] {
  const p = me.value?.org.periods
  if (p)
    return [
      { label: 'This quarter', ...p.thisQuarter },
      { label: 'Last quarter', ...p.lastQuarter },
      { label: 'This year', ...p.thisYear },
    ]
  const now = new Date()
  const last = subQuarters(now, 1)
  return [
    { label: 'This quarter', from: iso(startOfQuarter(now)), to: iso(endOfQuarter(now)) },
    { label: 'Last quarter', from: iso(startOfQuarter(last)), to: iso(endOfQuarter(last)) },
    { label: 'This year', from: iso(startOfYear(now)), to: iso(endOfYear(now)) },
  ]
}

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
            {presets().map((pr) => (
              <button
                key={pr.label}
                type="button"
                aria-pressed={p.from === pr.from && p.to === pr.to}
                onClick={() => setParams({ from: pr.from, to: pr.to })}
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
