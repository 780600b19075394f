import { parseISO } from 'date-fns'
import { Chart } from '../components/Chart'
import { DateField } from '../components/fields'
import { FilterBar } from '../components/filters'
import { Async, Card, StatGrid, useResource } from '../components/ui'
import { api } from '../endpoints'
import { compactMoney, date, money, num } from '../format'
import { filters, orgToday, query, setParams } from '../state'

/** Open pipeline over time (one point per day, from the daily snapshots), and the figures "as of" a day. */
export default function Trend() {
  const f = filters.value
  const q = query.value
  const asOf = q.get('asOf') ?? ''
  // The trend window defaults server-side to the last 90 days; only an explicit period narrows it.
  const tf = { ...f, from: q.get('from') ?? undefined, to: q.get('to') ?? undefined }
  const trend = useResource((signal) => api.trend(tf, signal), [JSON.stringify(tf)])
  const snap = useResource(
    (signal) => (asOf ? api.summary({ ...f, asOf }, signal) : Promise.resolve(null)),
    [JSON.stringify(f), asOf],
  )
  return (
    <div>
      <h1 class="sr-only">Trend</h1>
      {/* The fields show the window the trend covers (the last 90 days by default), not P. */}
      <FilterBar range={{ from: tf.from ?? trend.data?.from ?? '', to: tf.to ?? trend.data?.to ?? '' }}>
        <DateField
          label="As of"
          name="asOf"
          value={asOf}
          max={orgToday.value}
          onChange={(v) => setParams({ asOf: v })}
        />
        {asOf && (
          <button type="button" onClick={() => setParams({ asOf: null })}>
            Back to today
          </button>
        )}
      </FilterBar>
      {asOf && (
        <Async res={snap} empty="No snapshot for that day.">
          {(s) =>
            s && (
              <StatGrid
                testId="asof-figures"
                stats={[
                  {
                    label: `Open pipeline as of ${asOf}`,
                    value: money(s.open.amount, s.currency),
                    sub: `${num(s.open.count)} deals`,
                  },
                  { label: `Weighted as of ${asOf}`, value: money(s.open.weighted, s.currency) },
                  {
                    // The summary's own period (P), which is not the trend's window above.
                    label: `Won ${date(s.period.from)} – ${date(s.period.to)}`,
                    value: money(s.won.amount, s.currency),
                    sub: `${num(s.won.count)} deals`,
                  },
                ]}
              />
            )
          }
        </Async>
      )}
      <Card title="Open pipeline over time">
        <Async
          res={trend}
          isEmpty={(d) => d.points.length === 0}
          empty="No daily snapshots yet: the first is taken after midnight."
        >
          {(d) => (
            <Chart
              label="Open pipeline amount and weighted amount per day"
              x={d.points.map((p) => parseISO(p.day).getTime() / 1000)}
              series={[
                { label: 'Open amount', color: '#1a73e8' },
                { label: 'Weighted', color: '#f29900' },
              ]}
              values={[d.points.map((p) => Number(p.amount)), d.points.map((p) => Number(p.weighted))]}
              format={(v) => compactMoney(v, d.currency)}
              height={280}
            />
          )}
        </Async>
      </Card>
    </div>
  )
}
