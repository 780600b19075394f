import { computed, signal } from '@preact/signals'
import { endOfQuarter, format, startOfQuarter } from 'date-fns'
import type { MeResponse } from '#shared/contracts/auth'

/**
 * Everything a view shows is decided by the query string, so a URL can be shared and the back
 * button works. Updates merge into the existing query: inside Zoho CRM the SDK's own parameters
 * (serviceOrigin, …) must survive.
 */
export const query = signal(new URLSearchParams(location.search))

/** Who is signed in, with the org's today and period presets; views read it for role-dependent parts. */
export const me = signal<MeResponse | null>(null)

/** Bumped when a sync started from this page ends: what shows the data's freshness loads it again. */
export const syncsEnded = signal(0)

if (typeof window !== 'undefined')
  window.addEventListener('popstate', () => (query.value = new URLSearchParams(location.search)))

/**
 * A list's place: the cursor of the page shown and `prev`, the cursors of the pages before it (one
 * `prev` parameter each), so Previous, a reload and the back button all find their page; `shown`,
 * how far a "Show more" list (Risk) has been extended.
 */
const PAGE_KEYS = ['cursor', 'prev', 'shown'] as const

/** An array value becomes one parameter per item (empty: none). */
export function setParams(
  patch: Record<string, string | string[] | null | undefined>,
  opts: { replace?: boolean } = {},
) {
  const next = new URLSearchParams(query.value)
  // A cursor belongs to the filters it was issued under: a filter change starts the list over.
  if (Object.keys(patch).some((k) => (FILTER_KEYS as readonly string[]).includes(k)))
    for (const k of PAGE_KEYS) if (!(k in patch)) next.delete(k)
  for (const [k, v] of Object.entries(patch)) {
    if (!Array.isArray(v)) {
      if (v) next.set(k, v)
      else next.delete(k)
      continue
    }
    next.delete(k)
    for (const item of v) if (item) next.append(k, item)
  }
  const url = `${location.pathname}?${next.toString()}${location.hash}`
  if (opts.replace) history.replaceState(null, '', url)
  else history.pushState(null, '', url)
  query.value = next
}

/**
 * The patch that opens another view: the filters stay, a list's place (PAGE_KEYS) does not, as it
 * belongs to the list it was taken in (a Deals cursor or Risk's `shown` would otherwise ride along
 * and come back on a later visit, or be dropped only by the next filter change).
 */
export const viewPatch = (id: string): Record<string, null | string> => ({
  view: id,
  ...Object.fromEntries(PAGE_KEYS.map((k) => [k, null])),
})

/** href for a link to another view keeping the current filters. */
export function hrefFor(patch: Record<string, string | null>): string {
  const next = new URLSearchParams(query.value)
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) next.delete(k)
    else next.set(k, v)
  }
  return `?${next.toString()}`
}

const iso = (d: Date) => format(d, 'yyyy-MM-dd')
const today = new Date()

export const view = computed(() => query.value.get('view') ?? 'overview')

/**
 * The period P (a closed range of dates); defaults to the org's current fiscal quarter in its time
 * zone, as the API's own default (the browser's calendar quarter only until /me has answered).
 */
export const period = computed(() => {
  const q = me.value?.org.periods.thisQuarter
  return {
    from: query.value.get('from') ?? q?.from ?? iso(startOfQuarter(today)),
    to: query.value.get('to') ?? q?.to ?? iso(endOfQuarter(today)),
  }
})

/** URL keys passed through to the API as its filters (shared/contracts/common.ts filtersSchema). */
export const FILTER_KEYS = [
  'closeFrom',
  'closeTo',
  'owner',
  'team',
  'pipeline',
  'stage',
  'currency',
  'territory',
] as const
export type FilterKey = (typeof FILTER_KEYS)[number]

/** Filters shared by every view, passed to the API as query parameters. */
export const filters = computed(() => {
  const q = query.value
  const f: Record<string, string> = { from: period.value.from, to: period.value.to }
  for (const k of FILTER_KEYS) {
    const v = q.get(k)
    if (v) f[k] = v
  }
  return f
})

/** Today in the org's time zone (the browser's date until /me has answered). */
export const orgToday = computed(() => me.value?.org.today ?? iso(today))
export { iso }
