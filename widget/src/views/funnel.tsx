import { Chart } from '../components/Chart'
import { FilterBar } from '../components/filters'
import { Async, Card, useResource } from '../components/ui'
import { api } from '../endpoints'
import { days, num, pct } from '../format'
import { filters } from '../state'

/** Stage conversion for deals created in P, and average time in each stage for deals that left it in P. */
export default function Funnel() {
  const f = filters.value
  const funnel = useResource(() => api.funnel(f), [JSON.stringify(f)])
  const tis = useResource(() => api.timeInStage(f), [JSON.stringify(f)])
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
                <table data-testid="funnel-table">
                  <thead>
                    <tr>
                      <th scope="col">Stage</th>
                      <th scope="col" class="num">
                        Reached
                      </th>
                      <th scope="col" class="num">
                        To next stage
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.steps.map((s) => (
                      <tr key={s.stage}>
                        <th scope="row">{s.stage}</th>
                        <td class="num">{num(s.reached)}</td>
                        <td class="num">{pct(s.conversionToNext)}</td>
                      </tr>
                    ))}
                    <tr>
                      <th scope="row">Won</th>
                      <td class="num">{num(d.won)}</td>
                      <td class="num" />
                    </tr>
                  </tbody>
                </table>
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
              <table data-testid="time-in-stage">
                <thead>
                  <tr>
                    <th scope="col">Stage</th>
                    <th scope="col" class="num">
                      Average (left in period)
                    </th>
                    <th scope="col" class="num">
                      Deals that left it
                    </th>
                    <th scope="col" class="num">
                      Open now: days so far
                    </th>
                    <th scope="col" class="num">
                      Open now
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {d.stages.map((s) => (
                    <tr key={s.stage}>
                      <th scope="row">{s.stage}</th>
                      <td class="num">{days(s.left.averageDays)}</td>
                      <td class="num">{num(s.left.count)}</td>
                      <td class="num">{days(s.current.averageDaysSoFar)}</td>
                      <td class="num">{num(s.current.count)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Async>
        </Card>
      </div>
    </div>
  )
}
