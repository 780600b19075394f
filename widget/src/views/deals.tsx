import { useRef, useState } from 'preact/hooks'
import { DEAL_SORTS } from '#shared/contracts/deals'
import { download } from '../api'
import { FilterBar } from '../components/filters'
import { Async, Card, ErrorState, useResource } from '../components/ui'
import { api } from '../endpoints'
import { date, money, moneyIn } from '../format'
import { filters, query, setParams } from '../state'

const PAGE_SIZE = 25
type Sort = (typeof DEAL_SORTS)[number]
const COLUMNS: { label: string; sort?: Sort; num?: boolean }[] = [
  { label: 'Deal', sort: 'name' },
  { label: 'Stage', sort: 'stage' },
  { label: 'Owner' },
  { label: 'Amount (original)', num: true },
  { label: 'Amount (SGD)', sort: 'amount', num: true },
  { label: 'Closing date', sort: 'closingDate' },
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
  const f = filters.value
  // The list filters by closing date (closeFrom/closeTo), not by the period P.
  const { from: _from, to: _to, ...listFilters } = f
  const common = { ...listFilters, state: state || undefined, q: search || undefined }
  const params = { ...common, sort, dir, limit: PAGE_SIZE, cursor: cursor || undefined }
  const res = useResource(() => api.deals(params), [JSON.stringify(params)])
  // Cursors of the pages before this one, so Previous works without a server-side offset.
  const trail = useRef<string[]>([])
  const [exporting, setExporting] = useState(false)
  const [exportError, setExportError] = useState<unknown>(null)

  async function exportCsv() {
    setExporting(true)
    setExportError(null)
    try {
      await download('/api/v1/exports/deals.csv', common, 'deals.csv')
    } catch (e) {
      setExportError(e)
    } finally {
      setExporting(false)
    }
  }
  const restart = { cursor: null, page: null }

  return (
    <div>
      <h1 class="sr-only">Deals</h1>
      <FilterBar showPeriod={false}>
        <label class="field">
          State
          <select
            name="state"
            value={state}
            onChange={(e) => setParams({ state: (e.target as HTMLSelectElement).value, ...restart })}
          >
            <option value="">All</option>
            <option value="open">Open</option>
            <option value="won">Won</option>
            <option value="lost">Lost</option>
          </select>
        </label>
        <label class="field">
          Closing from
          <input
            type="date"
            name="closeFrom"
            value={q.get('closeFrom') ?? ''}
            onChange={(e) => setParams({ closeFrom: (e.target as HTMLInputElement).value, ...restart })}
          />
        </label>
        <label class="field">
          Closing to
          <input
            type="date"
            name="closeTo"
            value={q.get('closeTo') ?? ''}
            onChange={(e) => setParams({ closeTo: (e.target as HTMLInputElement).value, ...restart })}
          />
        </label>
        <label class="field">
          Search
          <input
            type="search"
            name="q"
            value={search}
            placeholder="Deal name"
            onChange={(e) =>
              setParams({ q: (e.target as HTMLInputElement).value, ...restart }, { replace: true })
            }
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
              <div class="table-wrap">
                <table data-testid="deals-table">
                  <thead>
                    <tr>
                      {COLUMNS.map((c) => {
                        const active = c.sort === sort
                        return (
                          <th
                            key={c.label}
                            scope="col"
                            class={c.num ? 'num' : undefined}
                            aria-sort={active ? (dir === 'asc' ? 'ascending' : 'descending') : undefined}
                          >
                            {c.sort ? (
                              <button
                                type="button"
                                onClick={() => {
                                  trail.current = []
                                  setParams({
                                    sort: c.sort!,
                                    dir: active && dir === 'asc' ? 'desc' : 'asc',
                                    ...restart,
                                  })
                                }}
                              >
                                {c.label}
                                {active ? (dir === 'asc' ? ' ▲' : ' ▼') : ''}
                              </button>
                            ) : (
                              c.label
                            )}
                          </th>
                        )
                      })}
                    </tr>
                  </thead>
                  <tbody>
                    {d.deals.map((r) => (
                      <tr key={r.id}>
                        <td>
                          <a href={r.zohoUrl} target="_blank" rel="noopener">
                            {r.name}
                          </a>
                        </td>
                        <td>{r.stage}</td>
                        <td>{r.ownerName ?? r.ownerId ?? '—'}</td>
                        <td class="num">{r.amount === null ? '—' : moneyIn(r.amount, r.currency)}</td>
                        <td class="num">
                          {r.amountSgd === null ? (
                            <span class="badge warn">unpriced</span>
                          ) : (
                            money(r.amountSgd)
                          )}
                        </td>
                        <td>{date(r.closingDate)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <nav class="pager" aria-label="Pages">
                <span class="muted" data-testid="deals-count">
                  Showing {d.deals.length} deals{d.nextCursor ? ', more on the next page' : ''}
                </span>
                <button
                  type="button"
                  disabled={!cursor}
                  onClick={() => setParams({ cursor: trail.current.pop() ?? null })}
                >
                  Previous
                </button>
                <button
                  type="button"
                  disabled={!d.nextCursor}
                  onClick={() => {
                    trail.current.push(cursor)
                    setParams({ cursor: d.nextCursor })
                  }}
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
