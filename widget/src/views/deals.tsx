import { useEffect, useRef, useState } from 'preact/hooks'
import { DEAL_SORTS, type DealRow } from '#shared/contracts/deals'
import { download } from '../api'
import { DateField, SelectField } from '../components/fields'
import { FilterBar } from '../components/filters'
import { DataTable, type Column } from '../components/table'
import { Async, Card, ErrorState, useResource, ZohoLink } from '../components/ui'
import { api } from '../endpoints'
import { date, money, moneyIn } from '../format'
import { filters, query, setParams } from '../state'

const PAGE_SIZE = 25
/** A pause in typing this long commits the search (one history entry per search, not per key). */
const SEARCH_DEBOUNCE_MS = 500
/**
 * Previous pages remembered in the URL (one `prev` cursor of 50 to a few hundred characters each), so
 * the URL stays short enough to share and for proxies' header limits; Previous from the oldest page
 * still remembered goes to the first page.
 */
const MAX_TRAIL = 10
type Sort = (typeof DEAL_SORTS)[number]
/**
 * Columns with `sortBy` sort the list (the API's sort key). `base` is the org's reporting currency
 * from the response (amountSgd is in it; it is USD for an org whose base currency is USD).
 */
const columns = (base: string): (Column<DealRow> & { label: string; sortBy?: Sort })[] => [
  { label: 'Deal', sortBy: 'name', cell: (r) => <ZohoLink href={r.zohoUrl}>{r.name}</ZohoLink> },
  { label: 'Stage', sortBy: 'stage', cell: (r) => r.stage },
  { label: 'Owner', cell: (r) => r.ownerName ?? r.ownerId ?? '—' },
  {
    label: 'Amount (original)',
    num: true,
    cell: (r) => (r.amount === null ? '—' : moneyIn(r.amount, r.currency)),
  },
  {
    label: `Amount (${base})`,
    sortBy: 'amount',
    num: true,
    cell: (r) => (r.amountSgd === null ? <span class="badge warn">unpriced</span> : money(r.amountSgd, base)),
  },
  { label: 'Closing date', sortBy: 'closingDate', cell: (r) => date(r.closingDate) },
]

/** The deals behind every figure: sort, filter, paginate (keyset cursor), open in Zoho, export CSV. */
export default function Deals() {
  const q = query.value
  const sortParam = q.get('sort') as Sort | null
  const sort: Sort = sortParam && DEAL_SORTS.includes(sortParam) ? sortParam : 'closingDate'
  const dir = q.get('dir') === 'desc' ? 'desc' : 'asc'
  const state = q.get('state') ?? ''
  const search = q.get('q') ?? ''
  const cursor = q.get('cursor') ?? ''
  // Cursors of the pages before this one except the first (it has none), oldest first: in the URL,
  // so Previous works after a reload or the back button, without a server-side offset.
  const trail = q.getAll('prev')
  const f = filters.value
  // The list filters by closing date (closeFrom/closeTo), not by the period P.
  const { from: _from, to: _to, ...listFilters } = f
  const common = { ...listFilters, state: state || undefined, q: search || undefined }
  const params = { ...common, sort, dir, limit: PAGE_SIZE, cursor: cursor || undefined }
  const res = useResource((signal) => api.deals(params, signal), [JSON.stringify(params)])
  const restart = { cursor: null, prev: null }
  const [exporting, setExporting] = useState(false)
  const [exportError, setExportError] = useState<unknown>(null)
  // The search box: typing edits it; a pause or Enter commits the search as a new history entry, so
  // Back undoes it (and the box follows the URL back).
  const [typed, setTyped] = useState(search)
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  // The box follows the URL (Back, a shared link), but keeps what is typed when that is the search
  // committed: a pause after "Acme " must not eat the space before the next word.
  useEffect(() => setTyped((t) => (t.trim() === search ? t : search)), [search])
  useEffect(() => () => clearTimeout(timer.current), [])
  const commitSearch = (value: string) => {
    clearTimeout(timer.current)
    // The URL now, not this render's: a pending pause may fire after another change.
    if (value.trim() !== (query.value.get('q') ?? '')) setParams({ q: value.trim(), ...restart })
  }

  async function exportCsv() {
    setExporting(true)
    setExportError(null)
    try {
      // The web view saves through a link (streamed to disk); the one-row list with the same filters
      // first shows on the page the error a link could not (see download()).
      await download('/api/v1/exports/deals.csv', common, 'deals.csv', () =>
        api.deals({ ...common, limit: 1 }),
      )
    } catch (e) {
      setExportError(e)
    } finally {
      setExporting(false)
    }
  }
  /** A sortable column's header is a button that sorts by it (again: the other way round). */
  const sortHeader = (label: string, by: Sort): Pick<Column<DealRow>, 'label' | 'sort'> => {
    const active = by === sort
    return {
      sort: active ? (dir === 'asc' ? 'ascending' : 'descending') : undefined,
      label: (
        <button
          type="button"
          onClick={() => setParams({ sort: by, dir: active && dir === 'asc' ? 'desc' : 'asc', ...restart })}
        >
          {label}
          {/* The header's aria-sort says the order; the arrow is only for the eye. */}
          {active ? <span aria-hidden="true">{dir === 'asc' ? ' ▲' : ' ▼'}</span> : null}
        </button>
      ),
    }
  }

  return (
    <div>
      <h1 class="sr-only">Deals</h1>
      <FilterBar showPeriod={false} controls={['closeFrom', 'closeTo']}>
        <SelectField
          label="State"
          name="state"
          value={state}
          options={[
            { value: '', label: 'All' },
            { value: 'open', label: 'Open' },
            { value: 'won', label: 'Won' },
            { value: 'lost', label: 'Lost' },
          ]}
          onChange={(v) => setParams({ state: v, ...restart })}
        />
        <DateField
          label="Closing from"
          name="closeFrom"
          value={q.get('closeFrom') ?? ''}
          onChange={(v) => setParams({ closeFrom: v, ...restart })}
        />
        <DateField
          label="Closing to"
          name="closeTo"
          value={q.get('closeTo') ?? ''}
          onChange={(v) => setParams({ closeTo: v, ...restart })}
        />
        <label class="field">
          Search
          <input
            type="search"
            name="q"
            value={typed}
            placeholder="Deal name"
            onInput={(e) => {
              const value = (e.target as HTMLInputElement).value
              setTyped(value)
              clearTimeout(timer.current)
              timer.current = setTimeout(() => commitSearch(value), SEARCH_DEBOUNCE_MS)
            }}
            onKeyDown={(e) => {
              if (e.key === 'Enter') commitSearch((e.target as HTMLInputElement).value)
            }}
          />
        </label>
        <button type="button" onClick={() => void exportCsv()} disabled={exporting}>
          {exporting ? 'Exporting…' : 'Export CSV'}
        </button>
      </FilterBar>
      {exportError ? <ErrorState error={exportError} /> : null}
      <Card>
        <Async res={res} isEmpty={(d) => d.deals.length === 0} empty="No deals match these filters.">
          {(d) => (
            <>
              <DataTable
                testId="deals-table"
                rows={d.deals}
                rowKey={(r) => r.id}
                columns={columns(d.baseCurrency).map((c) =>
                  c.sortBy ? { ...c, ...sortHeader(c.label, c.sortBy) } : c,
                )}
              />
              <nav class="pager" aria-label="Pages">
                <span class="muted" data-testid="deals-count">
                  Showing {d.deals.length} deals{d.nextCursor ? ', more on the next page' : ''}
                </span>
                <button
                  type="button"
                  disabled={!cursor}
                  onClick={() =>
                    setParams({ cursor: trail[trail.length - 1] ?? null, prev: trail.slice(0, -1) })
                  }
                >
                  Previous
                </button>
                <button
                  type="button"
                  disabled={!d.nextCursor}
                  onClick={() =>
                    setParams({
                      cursor: d.nextCursor,
                      prev: cursor ? [...trail, cursor].slice(-MAX_TRAIL) : [],
                    })
                  }
                >
                  Next
                </button>
              </nav>
            </>
          )}
        </Async>
      </Card>
    </div>
  )
}
