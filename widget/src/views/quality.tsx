import type { QualityResponse } from '#shared/contracts/quality'
import { OtherFilters } from '../components/filters'
import { DataTable } from '../components/table'
import { Async, Card, useResource, ZohoLink } from '../components/ui'
import { api } from '../endpoints'
import { date, moneyIn, num } from '../format'
import { filters } from '../state'

const ISSUES: { key: keyof Omit<QualityResponse, 'today'>; label: string; why: string }[] = [
  {
    key: 'unpriced',
    label: 'Unpriced deals',
    why: 'No rate for the currency and no usable Zoho exchange rate: counted, never summed.',
  },
  {
    key: 'pastDue',
    label: 'Open past their closing date',
    why: 'Open deals whose closing date is before today.',
  },
  { key: 'missingAmount', label: 'Missing amount', why: 'Deals without an Amount (they count as 0).' },
  { key: 'unknownStage', label: 'Unknown stage', why: 'Stage is not in the Stage picklist.' },
]

/** Data-quality problems with the deals behind each, linked to Zoho for fixing. */
export default function Quality() {
  const { from: _f, to: _t, ...f } = filters.value
  const res = useResource((signal) => api.quality(f, signal), [JSON.stringify(f)])
  return (
    <div>
      <h1 class="sr-only">Data quality</h1>
      <div style={{ marginBottom: 12 }}>
        <OtherFilters />
      </div>
      <div class="cols">
        <Async res={res}>
          {(d) => (
            <>
              {ISSUES.map((i) => {
                const issue = d[i.key]
                return (
                  <Card key={i.key} title={`${i.label}: ${num(issue.count)}`}>
                    <p class="muted">{i.why}</p>
                    {issue.count === 0 ? (
                      <p class="badge ok">None</p>
                    ) : (
                      <>
                        <DataTable
                          testId={`quality-${i.key}`}
                          rows={issue.deals}
                          rowKey={(x) => x.id}
                          columns={[
                            { label: 'Deal', cell: (x) => <ZohoLink href={x.zohoUrl}>{x.name}</ZohoLink> },
                            { label: 'Stage', cell: (x) => x.stage },
                            {
                              label: 'Amount',
                              num: true,
                              cell: (x) => (x.amount === null ? '—' : moneyIn(x.amount, x.currency)),
                            },
                            { label: 'Closing', cell: (x) => date(x.closingDate) },
                          ]}
                        />
                        {issue.deals.length < issue.count && (
                          <p class="muted">
                            Showing {issue.deals.length} of {issue.count}.
                          </p>
                        )}
                      </>
                    )}
                  </Card>
                )
              })}
            </>
          )}
        </Async>
      </div>
    </div>
  )
}
