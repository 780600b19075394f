import { Chart } from '../components/Chart'
import { FilterBar } from '../components/filters'
import { Async, Card, useResource } from '../components/ui'
import { api } from '../endpoints'
import { compactMoney, money, num } from '../format'
import { filters } from '../state'

/** Every stage in pipeline order: open deals, and won/lost deals closed in P. */
export default function Stages() {
  const f = filters.value
  const res = useResource(() => api.byStage(f), [JSON.stringify(f)])
  return (
    <div>
      <h1 class="sr-only">Pipeline by stage</h1>
      <FilterBar stages={res.data?.stages.map((s) => s.stage)} />
      <Async res={res} isEmpty={(d) => d.stages.length === 0} empty="No stages synced yet.">
        {(d) => (
          <div class="cols">
            <Card title="Amount by stage">
              <Chart
                label="Amount by stage"
                categories={d.stages.map((s) => s.stage)}
                series={[
                  { label: 'Amount', color: '#1a73e8', kind: 'bar' },
                  { label: 'Weighted', color: '#f29900', kind: 'line' },
                ]}
                values={[d.stages.map((s) => Number(s.amount)), d.stages.map((s) => Number(s.weighted))]}
                format={(v) => compactMoney(v, d.currency)}
                height={280}
              />
            </Card>
            <Card title="Stages">
              <div class="table-wrap">
                <table data-testid="stages-table">
                  <thead>
                    <tr>
                      <th scope="col">Stage</th>
                      <th scope="col">State</th>
                      <th scope="col" class="num">
                        Prob.
                      </th>
                      <th scope="col">Forecast category</th>
                      <th scope="col" class="num">
                        Deals
                      </th>
                      <th scope="col" class="num">
                        Amount
                      </th>
                      <th scope="col" class="num">
                        Weighted
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.stages.map((s) => (
                      <tr key={s.stage}>
                        <td>{s.stage}</td>
                        <td>
                          <span class={`badge ${s.state === 'won' ? 'ok' : s.state === 'lost' ? 'bad' : ''}`}>
                            {s.state}
                          </span>
                        </td>
                        <td class="num">{s.probability === null ? '—' : `${s.probability}%`}</td>
                        <td>{s.forecastCategory ?? '—'}</td>
                        <td class="num">{num(s.count)}</td>
                        <td class="num">{money(s.amount, d.currency)}</td>
                        <td class="num">{money(s.weighted, d.currency)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </Card>
          </div>
        )}
      </Async>
    </div>
  )
}
