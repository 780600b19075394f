import { Chart } from '../components/Chart'
import { FilterBar } from '../components/filters'
import { DataTable } from '../components/table'
import { Async, Card, useResource } from '../components/ui'
import { api } from '../endpoints'
import { days, num, pct } from '../format'
import { filters } from '../state'

/** Stage conversion for deals created in P, and average time in each stage for deals that left it in P. */
export default function Funnel() {
  const f = filters.value
  const funnel = useResource((signal) => api.funnel(f, signal), [JSON.stringify(f)])
  const tis = useResource((signal) => api.timeInStage(f, signal), [JSON.stringify(f)])
  return (
    <div>
      <h1 class="sr-only">Funnel and time in stage</h1>
      <FilterBar />
      <div class="cols">
        <Card title="Funnel (deals created in the period)">
          <Async res={funnel} isEmpty={(d) => d.cohort === 0} empty="No deals were created in this period.">
            {(d) => (
              <>
                <Chart
                  label="Deals reaching each stage"
                  categories={[...d.steps.map((s) => s.stage), 'Won']}
                  series={[{ label: 'Reached', color: '#1a73e8', kind: 'bar' }]}
                  values={[[...d.steps.map((s) => s.reached), d.won]]}
                />
                <DataTable
                  testId="funnel-table"
                  rows={d.steps}
                  rowKey={(s) => s.stage}
                  columns={[
                    { label: 'Stage', rowHeader: true, cell: (s) => s.stage },
                    { label: 'Reached', num: true, cell: (s) => num(s.reached) },
                    { label: 'To next stage', num: true, cell: (s) => pct(s.conversionToNext) },
                  ]}
                  after={
                    <tr>
                      <th scope="row">Won</th>
                      <td class="num">{num(d.won)}</td>
                      <td class="num" />
                    </tr>
                  }
                />
                <p class="muted">
                  {num(d.cohort)} deals created {d.period.from} to {d.period.to}; {num(d.won)} won,{' '}
                  {num(d.lost)} lost (win rate {pct(d.winRate)}).
                </p>
              </>
            )}
          </Async>
        </Card>
        <Card title="Time in stage">
          <Async res={tis} isEmpty={(d) => d.stages.length === 0} empty="No stage data yet.">
            {(d) => (
              <DataTable
                testId="time-in-stage"
                rows={d.stages}
                rowKey={(s) => s.stage}
                columns={[
                  { label: 'Stage', rowHeader: true, cell: (s) => s.stage },
                  { label: 'Average (left in period)', num: true, cell: (s) => days(s.left.averageDays) },
                  { label: 'Deals that left it', num: true, cell: (s) => num(s.left.count) },
                  {
                    label: 'Open now: days so far',
                    num: true,
                    cell: (s) => days(s.current.averageDaysSoFar),
                  },
                  { label: 'Open now', num: true, cell: (s) => num(s.current.count) },
                ]}
              />
            )}
          </Async>
        </Card>
      </div>
    </div>
  )
}
