import { FORECAST_CATEGORIES } from '#shared/contracts/forecast'
import { Chart } from '../components/Chart'
import { SelectField } from '../components/fields'
import { FilterBar } from '../components/filters'
import { DataTable, MoneyCount } from '../components/table'
import { Async, Card, useResource } from '../components/ui'
import { api } from '../endpoints'
import { compactMoney, money } from '../format'
import { filters, me, query, setParams } from '../state'

const COLORS: Record<string, string> = {
  Closed: '#188038',
  Commit: '#1a73e8',
  'Best Case': '#7baaf7',
  Pipeline: '#c6dafc',
  Omitted: '#bdc1c6',
}

/** Forecast per month or fiscal quarter by forecast category (METRICS.md "Forecast for P"). */
export default function Forecast() {
  const q = query.value
  const grain = q.get('grain') === 'month' ? 'month' : 'quarter'
  // The API defaults to the current fiscal year; only an explicit period in the URL narrows it.
  const f = {
    ...filters.value,
    from: q.get('from') ?? undefined,
    to: q.get('to') ?? undefined,
    period: grain,
  }
  const res = useResource((signal) => api.forecast(f, signal), [JSON.stringify(f)])
  // The fields show the range the forecast covers (the fiscal year by default), not the quarter
  // the other views default to.
  const year = me.value?.org.periods.thisYear
  const range = {
    from: f.from ?? res.data?.from ?? year?.from ?? '',
    to: f.to ?? res.data?.to ?? year?.to ?? '',
  }
  return (
    <div>
      <h1 class="sr-only">Forecast</h1>
      <FilterBar range={range}>
        <SelectField
          label="Buckets"
          name="grain"
          value={grain}
          options={[
            { value: 'quarter', label: 'Fiscal quarters' },
            { value: 'month', label: 'Months' },
          ]}
          onChange={(v) => setParams({ grain: v })}
        />
      </FilterBar>
      <Async res={res} isEmpty={(d) => d.buckets.length === 0} empty="No deals close in this range.">
        {(d) => {
          const cats = FORECAST_CATEGORIES.filter((c) =>
            d.buckets.some((b) => b.categories.some((x) => x.category === c && x.count > 0)),
          )
          type Bucket = (typeof d.buckets)[number]
          const amount = (b: Bucket, c: string) => b.categories.find((x) => x.category === c)?.amount ?? '0'
          return (
            <>
              <p class="muted">
                {d.from} to {d.to}, by {d.period === 'month' ? 'month' : 'fiscal quarter'}. Open deals by
                their stage's forecast category, won deals as Closed.
              </p>
              <Card title="Forecast by category">
                <Chart
                  label="Forecast amount by bucket and category"
                  categories={d.buckets.map((b) => b.key)}
                  series={cats.map((c) => ({ label: c, color: COLORS[c] ?? '#999', kind: 'bar' as const }))}
                  values={cats.map((c) => d.buckets.map((b) => Number(amount(b, c))))}
                  stacked
                  format={(v) => compactMoney(v, d.currency)}
                  height={280}
                />
              </Card>
              <Card title="Forecast table">
                <DataTable
                  testId="forecast-table"
                  rows={d.buckets}
                  rowKey={(b) => b.key}
                  columns={[
                    { label: 'Bucket', rowHeader: true, cell: (b) => b.key },
                    ...cats.map((c) => ({
                      label: c,
                      num: true,
                      cell: (b: Bucket) => money(amount(b, c), d.currency),
                    })),
                    {
                      label: 'Total',
                      num: true,
                      cell: (b) => <MoneyCount value={b.total} currency={d.currency} />,
                    },
                    { label: 'Weighted', num: true, cell: (b) => money(b.total.weighted, d.currency) },
                    { label: 'Target', num: true, cell: (b) => money(b.target, d.currency) },
                    {
                      label: 'Coverage',
                      num: true,
                      cell: (b) => (b.coverage === null ? '—' : `${Number(b.coverage).toFixed(2)}×`),
                    },
                  ]}
                />
              </Card>
            </>
          )
        }}
      </Async>
    </div>
  )
}
