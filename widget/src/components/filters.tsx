import { endOfQuarter, endOfYear, startOfQuarter, startOfYear, subQuarters } from 'date-fns'
import type { ComponentChildren } from 'preact'
import { api } from '../endpoints'
import { date } from '../format'
import { FILTER_KEYS, iso, me, period, query, setParams, type FilterKey } from '../state'
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

/** The owners the viewer may filter by (their team), as the Owner field lists them. */
function useOwners() {
  const p = period.value
  const res = useResource((signal) => api.byOwner({ from: p.from, to: p.to }, signal), [p.from, p.to])
  return res.data?.owners ?? []
}

/** An owner filter's name where there is no Owner field (the id until the names have loaded). */
function OwnerName({ id }: { id: string }) {
  const owner = useOwners().find((o) => o.ownerId === id)
  return <>{owner?.ownerName ?? id}</>
}

/** Owners the viewer may filter by (their team); reps only ever see themselves. */
function OwnerSelect() {
  const owners = useOwners()
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

/**
 * A new end of the period that would cross the other end moves that end with it: typing a start
 * after the end (the date inputs' min/max do not stop typing) keeps a valid one-day period instead
 * of an error. Clearing an end goes back to the default period.
 */
function periodPatch(p: { from: string; to: string }, end: 'from' | 'to', value: string) {
  // A cleared end: the view's default period, both ends (its default start with the end kept could
  // come after that end, and the figures would give way to an error).
  if (!value) return { from: null, to: null }
  if (end === 'from' && p.to && value > p.to) return { from: value, to: value }
  if (end === 'to' && p.from && value < p.from) return { from: value, to: value }
  return { [end]: value }
}

const FILTER_LABELS: Record<FilterKey, string> = {
  closeFrom: 'Closing from',
  closeTo: 'Closing to',
  owner: 'Owner',
  team: 'Team',
  pipeline: 'Pipeline',
  stage: 'Stage',
  currency: 'Currency',
  territory: 'Territory',
}

/**
 * Filters in the URL that the view applies but has no field for (the stage chosen on the Overview,
 * the closing dates of the Deals view, a shared link's team or currency), each with a button that
 * removes it: no figure is ever filtered out of sight. `shown`: the keys the view has fields for.
 */
export function OtherFilters({ shown = [] }: { shown?: readonly string[] }) {
  const q = query.value
  const rest = FILTER_KEYS.filter((k) => !shown.includes(k) && q.get(k))
  if (rest.length === 0) return null
  return (
    <div class="row" role="group" aria-label="Other filters" data-testid="other-filters">
      <span class="muted">Also filtered by</span>
      {rest.map((k) => {
        const v = q.get(k)!
        const value =
          k === 'owner' ? <OwnerName id={v} /> : k === 'closeFrom' || k === 'closeTo' ? date(v) : v
        return (
          <button
            key={k}
            type="button"
            class="chip"
            title="Remove this filter"
            onClick={() => setParams({ [k]: null })}
          >
            {FILTER_LABELS[k]}: {value} <span aria-hidden="true">×</span>
            <span class="sr-only"> (remove)</span>
          </button>
        )
      })}
    </div>
  )
}

/**
 * Period P and the common filters; every change goes to the URL. `range` is the period the view
 * shows when it is not P (the forecast's fiscal year, the trend's last 90 days): the fields and the
 * pressed preset say what the figures cover.
 */
export function FilterBar({
  stages,
  range,
  showPeriod = true,
  controls = [],
  children,
}: {
  stages?: string[]
  range?: { from: string; to: string }
  showPeriod?: boolean
  /** Filter keys the view's own fields (children) set, e.g. closeFrom/closeTo on the Deals view. */
  controls?: FilterKey[]
  children?: ComponentChildren
}) {
  const p = range ?? period.value
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
            max={p.to || undefined}
            onChange={(from) => setParams(periodPatch(p, 'from', from))}
          />
          <DateField
            label="Period to"
            name="to"
            value={p.to}
            min={p.from || undefined}
            onChange={(to) => setParams(periodPatch(p, 'to', to))}
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
          // The stage chosen stays listed even where the list does not have it (a shared link).
          options={[
            { value: '', label: 'All stages' },
            ...(q.get('stage') && !stages.includes(q.get('stage')!) ? [q.get('stage')!] : []),
            ...stages,
          ]}
          onChange={(stage) => setParams({ stage })}
        />
      )}
      {lead && <OwnerSelect />}
      {children}
      <OtherFilters shown={[...(stages ? ['stage'] : []), ...(lead ? ['owner'] : []), ...controls]} />
    </form>
  )
}
