import { SelectField } from '../components/fields'
import { FilterBar } from '../components/filters'
import { DataTable } from '../components/table'
import { Async, Card, useResource, ZohoLink } from '../components/ui'
import { api } from '../endpoints'
import { date, datesIn, money, plural } from '../format'
import { RISK_REASONS } from '#shared/contracts/risk'
import { filters, query, setParams } from '../state'

const KIND_CLASS: Record<string, string> = { overdue: 'bad', stuck: 'warn', slipping: 'warn', quiet: '' }

/** Stale and at-risk open deals, each with the reasons (stuck, overdue, slipping, quiet). */
const STEP = 25
/**
 * The API lists the largest first: 200 at first, then up to its maximum of 1,000 once the user asks
 * for more than 200 (beyond that, the owner and reason filters narrow the list).
 */
const FIRST_LIMIT = 200
const MAX_LIMIT = 1000

export default function Risk() {
  const { from: _from, to: _to, ...f } = filters.value
  const reason = query.value.get('reason') ?? ''
  // How many rows are shown, in the URL (`shown`) so a reload or a shared link keeps them; a filter
  // change drops it (setParams), as it drops the Deals list's cursor.
  const asked = Number.parseInt(query.value.get('shown') ?? '', 10)
  const shown = Number.isFinite(asked) ? Math.min(Math.max(asked, STEP), MAX_LIMIT) : STEP
  const limit = shown > FIRST_LIMIT ? MAX_LIMIT : FIRST_LIMIT
  const params = { ...f, reason: reason || undefined, limit }
  const res = useResource((signal) => api.risk(params, signal), [JSON.stringify(params)])
  return (
    <div>
      <h1 class="sr-only">Stale and at-risk deals</h1>
      <FilterBar showPeriod={false}>
        <SelectField
          label="Reason"
          name="reason"
          value={reason}
          options={[{ value: '', label: 'Any reason' }, ...RISK_REASONS]}
          onChange={(v) => setParams({ reason: v, shown: null })}
        />
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
                <strong>{d.counts.total}</strong> {d.counts.total === 1 ? 'deal' : 'deals'} at risk worth{' '}
                {money(d.amount, d.currency)}: {d.counts.stuck} stuck
                {d.counts.stuckUpTo > 0 &&
                  ` (${d.counts.stuckUpTo} of them provisional: stage history not read)`}
                , {d.counts.overdue} overdue, {d.counts.slipping} slipping, {d.counts.quiet} quiet (no
                activity for {plural(d.quietDays, 'day')}).
              </p>
              <DataTable
                testId="risk-table"
                rows={d.deals.slice(0, shown)}
                rowKey={(r) => r.id}
                columns={[
                  { label: 'Deal', cell: (r) => <ZohoLink href={r.zohoUrl}>{r.name ?? r.id}</ZohoLink> },
                  { label: 'Owner', cell: (r) => r.ownerName ?? '—' },
                  { label: 'Stage', cell: (r) => r.stage ?? '—' },
                  { label: 'Amount', num: true, cell: (r) => money(r.amountSgd, d.currency) },
                  {
                    label: 'Days in stage',
                    num: true,
                    // While the stage history is not read: counted from creation (an upper bound) or
                    // from a stage change our sync saw (a lower bound).
                    cell: (r) =>
                      r.daysInStageUpTo
                        ? `up to ${r.daysInStage}`
                        : r.daysInStageAtLeast
                          ? `at least ${r.daysInStage}`
                          : r.daysInStage,
                  },
                  { label: 'Closing', cell: (r) => date(r.closingDate) },
                  {
                    label: 'Why',
                    cell: (r) => (
                      <div class="reasons">
                        {r.reasons.map((x) => (
                          <div key={x.code}>
                            <span class={`badge ${x.provisional ? '' : (KIND_CLASS[x.code] ?? '')}`}>
                              {x.code}
                            </span>{' '}
                            {datesIn(x.message)}
                          </div>
                        ))}
                      </div>
                    ),
                  },
                ]}
              />
              {d.counts.total > STEP && (
                <div class="pager">
                  <span class="muted" data-testid="risk-shown">
                    Showing {Math.min(shown, d.deals.length)} of {d.counts.total}, largest first
                    {shown >= d.deals.length && d.deals.length < d.counts.total && limit === MAX_LIMIT
                      ? `: the ${MAX_LIMIT.toLocaleString('en')} largest are listed, filter by owner or reason for the rest`
                      : ''}
                  </span>
                  {(shown < d.deals.length || (d.deals.length < d.counts.total && limit < MAX_LIMIT)) && (
                    <button
                      type="button"
                      onClick={() => setParams({ shown: String(shown + STEP * 4) }, { replace: true })}
                    >
                      Show more
                    </button>
                  )}
                </div>
              )}
            </>
          )}
        </Async>
      </Card>
    </div>
  )
}
