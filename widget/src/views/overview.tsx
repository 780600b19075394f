import { Chart } from '../components/Chart'
import { FilterBar } from '../components/filters'
import { Async, Card, Stat, useResource } from '../components/ui'
import { api } from '../endpoints'
import { compactMoney, days, money, num, pct, plural } from '../format'
import { filters } from '../state'

/** Headline figures for the period P (METRICS.md "Headline figures"). */
export default function Overview() {
  const f = filters.value
  const res = useResource(() => api.summary(f), [JSON.stringify(f)])
  return (
    <div>
      <h1 class="sr-only">Overview</h1>
      <FilterBar stages={res.data?.byStage.map((s) => s.stage)} />
      <Async res={res}>
        {(s) => (
          <>
            <div class="grid" data-testid="overview">
              <Stat
                testId="open-amount"
                label="Open pipeline"
                value={money(s.open.amount, s.currency)}
                sub={plural(s.open.count, 'open deal')}
              />
              <Stat
                testId="open-weighted"
                label="Weighted pipeline"
                value={money(s.open.weighted, s.currency)}
                sub="amount × probability"
              />
              <Stat
                testId="won-amount"
                label="Won in period"
                value={money(s.won.amount, s.currency)}
                sub={`${plural(s.won.count, 'deal')} closed won`}
              />
              <Stat
                testId="win-rate"
                label="Win rate (by count)"
                value={pct(s.winRate.count)}
                sub={`by amount ${pct(s.winRate.amount)}`}
              />
              <Stat
                testId="avg-deal"
                label="Average deal size"
                value={money(s.averageDealSize, s.currency)}
                sub="priced won deals in period"
              />
              <Stat
                testId="cycle"
                label="Sales cycle"
                value={days(s.salesCycleDays)}
                sub="created → closed won"
              />
              <Stat
                testId="lost-amount"
                label="Lost in period"
                value={money(s.lost.amount, s.currency)}
                sub={`${plural(s.lost.count, 'deal')} closed lost`}
              />
              <Stat
                testId="unpriced"
                label="Unpriced deals"
                value={num(s.unpriced.count)}
                sub="counted, excluded from amounts"
              />
            </div>
            <p class="muted" data-testid="period">
              Period {s.period.from} to {s.period.to}
              {s.snapshotDay ? ` · as of snapshot ${s.snapshotDay}` : ''}
            </p>
            <Card title="Open pipeline by stage">
              {s.byStage.length === 0 ? (
                <p class="muted">No open deals.</p>
              ) : (
                <Chart
                  label="Open pipeline amount by stage"
                  categories={s.byStage.map((b) => b.stage)}
                  series={[
                    { label: 'Amount', color: '#1a73e8', kind: 'bar' },
                    { label: 'Weighted', color: '#f29900', kind: 'line' },
                  ]}
                  values={[s.byStage.map((b) => Number(b.amount)), s.byStage.map((b) => Number(b.weighted))]}
                  format={(v) => compactMoney(v, s.currency)}
                />
              )}
            </Card>
          </>
        )}
      </Async>
    </div>
  )
}
