import { FilterBar } from '../components/filters'
import { Async, Card, useResource } from '../components/ui'
import { api } from '../endpoints'
import { date, money } from '../format'
import { useState } from 'preact/hooks'
import { RISK_REASONS } from '#shared/contracts/risk'
import { filters, query, setParams } from '../state'

const KIND_CLASS: Record<string, string> = { overdue: 'bad', stuck: 'warn', slipping: 'warn', quiet: '' }

/** Stale and at-risk open deals, each with the reasons (stuck, overdue, slipping, quiet). */
const STEP = 25

export default function Risk() {
  const { from: _from, to: _to, ...f } = filters.value
  const reason = query.value.get('reason') ?? ''
  const params = { ...f, reason: reason || undefined }
  const res = useResource(() => api.risk(params), [JSON.stringify(params)])
  const [shown, setShown] = useState(STEP)
  return (
    <div>
      <h1 class="sr-only">Stale and at-risk deals</h1>
      <FilterBar showPeriod={false}>
        <label class="field">
          Reason
          <select
            name="reason"
            value={reason}
            onChange={(e) => setParams({ reason: (e.target as HTMLSelectElement).value })}
          >
            <option value="">Any reason</option>
            {RISK_REASONS.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
      </FilterBar>
      <Card title="Stale and at-risk deals">
        <Async
          res={res}
          isEmpty={(d) => d.deals.length === 0}
          empty="No open deal is stale or at risk. Nice."
        >
          {(d) => (
            <>
              <p data-testid="risk-counts">
                <strong>{d.counts.total}</strong> deals at risk worth {money(d.amount, d.currency)}:{' '}
                {d.counts.stuck} stuck, {d.counts.overdue} overdue, {d.counts.slipping} slipping,{' '}
                {d.counts.quiet} quiet (no activity for {d.quietDays} days).
              </p>
              <div class="table-wrap">
                <table data-testid="risk-table">
                  <thead>
                    <tr>
                      <th scope="col">Deal</th>
                      <th scope="col">Owner</th>
                      <th scope="col">Stage</th>
                      <th scope="col" class="num">
                        Amount
                      </th>
                      <th scope="col" class="num">
                        Days in stage
                      </th>
                      <th scope="col">Closing</th>
                      <th scope="col">Why</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.deals.slice(0, shown).map((r) => (
                      <tr key={r.id}>
                        <td>
                          <a href={r.zohoUrl} target="_blank" rel="noopener">
                            {r.name ?? r.id}
                          </a>
                        </td>
                        <td>{r.ownerName ?? '—'}</td>
                        <td>{r.stage ?? '—'}</td>
                        <td class="num">{money(r.amountSgd, d.currency)}</td>
                        <td class="num">{r.daysInStage}</td>
                        <td>{date(r.closingDate)}</td>
                        <td>
                          {r.reasons.map((x) => (
                            <div key={x.code}>
                              <span class={`badge ${KIND_CLASS[x.code] ?? ''}`}>{x.code}</span> {x.message}
                            </div>
                          ))}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {d.deals.length > shown && (
                <div class="pager">
                  <span class="muted">
                    Showing {shown} of {d.deals.length}
                  </span>
                  <button type="button" onClick={() => setShown(shown + STEP * 4)}>
                    Show more
                  </button>
                </div>
              )}
            </>
          )}
        </Async>
      </Card>
    </div>
  )
}
