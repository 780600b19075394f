import { FilterBar } from '../components/filters'
import { StageAmountChart } from '../components/stage-chart'
import { Async, Card, StatGrid, useResource } from '../components/ui'
import { api } from '../endpoints'
import { days, money, num, pct, plural } from '../format'
import { filters, period } from '../state'

/** Headline figures for the period P (METRICS.md "Headline figures"). */
export default function Overview() {
  const f = filters.value
  const res = useResource((signal) => api.summary(f, signal), [JSON.stringify(f)])
  // Every stage to choose from, whatever stage is chosen: the summary's own stages are only those
  // its filters (the stage filter too) leave, so picking one stage used to leave no other to pick.
  const { from, to } = period.value
  const stageList = useResource((signal) => api.byStage({ from, to }, signal), [from, to])
  return (
    <div>
      <h1 class="sr-only">Overview</h1>
      <FilterBar stages={stageList.data?.stages.map((s) => s.stage) ?? []} />
      <Async res={res}>
        {(s) => (
          <>
            <StatGrid
              testId="overview"
              stats={[
                {
                  testId: 'open-amount',
                  label: 'Open pipeline',
                  value: money(s.open.amount, s.currency),
                  sub: plural(s.open.count, 'open deal'),
                },
                {
                  testId: 'open-weighted',
                  label: 'Weighted pipeline',
                  value: money(s.open.weighted, s.currency),
                  sub: 'amount × probability',
                },
                {
                  testId: 'won-amount',
                  label: 'Won in period',
                  value: money(s.won.amount, s.currency),
                  sub: `${plural(s.won.count, 'deal')} closed won`,
                },
                {
                  testId: 'win-rate',
                  label: 'Win rate (by count)',
                  value: pct(s.winRate.count),
                  sub: `by amount ${pct(s.winRate.amount)}`,
                },
                {
                  testId: 'avg-deal',
                  label: 'Average deal size',
                  value: money(s.averageDealSize, s.currency),
                  sub: 'priced won deals in period',
                },
                {
                  testId: 'cycle',
                  label: 'Sales cycle',
                  value: days(s.salesCycleDays),
                  sub: 'created → closed won',
                },
                {
                  testId: 'lost-amount',
                  label: 'Lost in period',
                  value: money(s.lost.amount, s.currency),
                  sub: `${plural(s.lost.count, 'deal')} closed lost`,
                },
                {
                  testId: 'unpriced',
                  label: 'Unpriced deals',
                  value: num(s.unpriced.count),
                  sub: 'counted, excluded from amounts',
                },
              ]}
            />
            <p class="muted" data-testid="period">
              Period {s.period.from} to {s.period.to}
              {s.snapshotDay ? ` · as of snapshot ${s.snapshotDay}` : ''}
            </p>
            <Card title="Open pipeline by stage">
              {s.byStage.length === 0 ? (
                <p class="muted">No open deals.</p>
              ) : (
                <StageAmountChart
                  label="Open pipeline amount by stage"
                  stages={s.byStage}
                  currency={s.currency}
                />
              )}
            </Card>
          </>
        )}
      </Async>
    </div>
  )
}
