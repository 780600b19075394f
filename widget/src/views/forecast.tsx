import { FORECAST_CATEGORIES } from '#shared/contracts/forecast'
import { Chart } from '../components/Chart'
import { FilterBar } from '../components/filters'
import { Async, Card, useResource } from '../components/ui'
import { api } from '../endpoints'
import { compactMoney, money, num } from '../format'
import { filters, query, setParams } from '../state'

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
  const res = useResource(() => api.forecast(f), [JSON.stringify(f)])
  return (
    <div>
      <h1 class="sr-only">Forecast</h1>
      <FilterBar>
        <label class="field">
          Buckets
          <select
            name="grain"
            value={grain}
            onChange={(e) => setParams({ grain: (e.target as HTMLSelectElement).value })}
          >
            <option value="quarter">Fiscal quarters</option>
            <option value="month">Months</option>
          </select>
        </label>
      </FilterBar>
      <Async res={res} isEmpty={(d) => d.buckets.length === 0} empty="No deals close in this range.">
        {(d) => {
          const cats = FORECAST_CATEGORIES.filter((c) =>
            d.buckets.some((b) => b.categories.some((x) => x.category === c && x.count > 0)),
          )
          const amount = (b: (typeof d.buckets)[number], c: string) =>
            b.categories.find((x) => x.category === c)?.amount ?? '0'
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
                <div class="table-wrap">
                  <table data-testid="forecast-table">
                    <thead>
                      <tr>
                        <th scope="col">Bucket</th>
                        {cats.map((c) => (
                          <th key={c} scope="col" class="num">
                            {c}
                          </th>
                        ))}
                        <th scope="col" class="num">
                          Total
                        </th>
                        <th scope="col" class="num">
                          Weighted
                        </th>
                        <th scope="col" class="num">
                          Target
                        </th>
                        <th scope="col" class="num">
                          Coverage
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      {d.buckets.map((b) => (
                        <tr key={b.key}>
                          <th scope="row">{b.key}</th>
                          {cats.map((c) => (
                            <td key={c} class="num">
                              {money(amount(b, c), d.currency)}
                            </td>
                          ))}
                          <td class="num">
                            {money(b.total.amount, d.currency)}{' '}
                            <span class="muted">({num(b.total.count)})</span>
                          </td>
                          <td class="num">{money(b.total.weighted, d.currency)}</td>
                          <td class="num">{money(b.target, d.currency)}</td>
                          <td class="num">
                            {b.coverage === null ? '—' : `${Number(b.coverage).toFixed(2)}×`}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </Card>
            </>
          )
        }}
      </Async>
    </div>
  )
}
