import { FilterBar } from '../components/filters'
import { StageAmountChart } from '../components/stage-chart'
import { DataTable } from '../components/table'
import { Async, Card, useResource } from '../components/ui'
import { api } from '../endpoints'
import { money, num } from '../format'
import { filters } from '../state'

/** Every stage in pipeline order: open deals, and won/lost deals closed in P. */
export default function Stages() {
  const f = filters.value
  const res = useResource((signal) => api.byStage(f, signal), [JSON.stringify(f)])
  return (
    <div>
      <h1 class="sr-only">Pipeline by stage</h1>
      <FilterBar stages={res.data?.stages.map((s) => s.stage) ?? []} />
      <Async res={res} isEmpty={(d) => d.stages.length === 0} empty="No stages synced yet.">
        {(d) => (
          <div class="cols wide">
            <Card title="Amount by stage">
              <StageAmountChart
                label="Amount by stage"
                stages={d.stages}
                currency={d.currency}
                height={280}
              />
            </Card>
            <Card title="Stages">
              <DataTable
                testId="stages-table"
                rows={d.stages}
                rowKey={(s) => s.stage}
                columns={[
                  { label: 'Stage', cell: (s) => s.stage },
                  {
                    label: 'State',
                    cell: (s) => (
                      <span class={`badge ${s.state === 'won' ? 'ok' : s.state === 'lost' ? 'bad' : ''}`}>
                        {s.state}
                      </span>
                    ),
                  },
                  {
                    label: 'Prob.',
                    num: true,
                    cell: (s) => (s.probability === null ? '—' : `${s.probability}%`),
                  },
                  { label: 'Forecast category', cell: (s) => s.forecastCategory ?? '—' },
                  { label: 'Deals', num: true, cell: (s) => num(s.count) },
                  { label: 'Amount', num: true, cell: (s) => money(s.amount, d.currency) },
                  { label: 'Weighted', num: true, cell: (s) => money(s.weighted, d.currency) },
                ]}
              />
            </Card>
          </div>
        )}
      </Async>
    </div>
  )
}
