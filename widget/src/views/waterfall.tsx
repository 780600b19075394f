import { Chart } from '../components/Chart'
import { FilterBar } from '../components/filters'
import { NO_SNAPSHOTS, useSnapshotRange } from '../components/snapshots'
import { Async, Card, Empty, Loading, useResource } from '../components/ui'
import { api } from '../endpoints'
import { compactMoney, money, num } from '../format'
import { filters, query, setParams } from '../state'

/** Pipeline waterfall from day A to day B for the closing-date window T (METRICS.md "Waterfall"). */
export default function Waterfall() {
  const range = useSnapshotRange()
  if (range.error) return <Async res={range}>{() => null}</Async>
  if (!range.data) return <Loading />
  const { first, last, defaultA } = range.data
  if (!first || !last || !defaultA) return <Empty>{NO_SNAPSHOTS}</Empty>
  return <WaterfallFor first={first} last={last} defaultA={defaultA} />
}

function WaterfallFor({ first, last, defaultA }: { first: string; last: string; defaultA: string }) {
  const q = query.value
  const a = q.get('a') ?? defaultA
  const b = q.get('b') ?? last
  const f = filters.value
  // Day A/B are the API's from/to; the closing-date window T is closeFrom/closeTo (default: fiscal quarter).
  const params = { ...f, from: a, to: b }
  const res = useResource(() => api.waterfall(params), [JSON.stringify(params)])
  return (
    <div>
      <h1 class="sr-only">Waterfall</h1>
      <FilterBar showPeriod={false}>
        <label class="field">
          From day A
          <input
            type="date"
            name="a"
            value={a}
            min={first}
            max={b}
            onChange={(e) => setParams({ a: (e.target as HTMLInputElement).value })}
          />
        </label>
        <label class="field">
          To day B
          <input
            type="date"
            name="b"
            value={b}
            min={a}
            max={last}
            onChange={(e) => setParams({ b: (e.target as HTMLInputElement).value })}
          />
        </label>
        <label class="field">
          Closing from (T)
          <input
            type="date"
            name="closeFrom"
            value={q.get('closeFrom') ?? ''}
            onChange={(e) => setParams({ closeFrom: (e.target as HTMLInputElement).value })}
          />
        </label>
        <label class="field">
          Closing to (T)
          <input
            type="date"
            name="closeTo"
            value={q.get('closeTo') ?? ''}
            onChange={(e) => setParams({ closeTo: (e.target as HTMLInputElement).value })}
          />
        </label>
      </FilterBar>
      <Async res={res}>
        {(d) => {
          const steps = [
            { label: 'Start', amount: d.start.amount, count: d.start.count, sign: '+' },
            ...d.buckets.map((x) => ({
              label: x.bucket as string,
              amount: x.amount,
              count: x.count,
              sign: x.sign,
            })),
            { label: 'End', amount: d.end.amount, count: d.end.count, sign: '+' },
          ]
          return (
            <>
              <Card title={`Waterfall ${d.from} → ${d.to}, closing ${d.window.from} to ${d.window.to}`}>
                <Chart
                  label="Waterfall: start, movements by bucket, end"
                  categories={steps.map((s) => s.label)}
                  series={[{ label: 'Amount', color: '#1a73e8', kind: 'bar' }]}
                  values={[steps.map((s) => (s.sign === '-' ? -Number(s.amount) : Number(s.amount)))]}
                  format={(v) => compactMoney(v, d.currency)}
                  height={280}
                />
                <p data-testid="waterfall-balance" class={d.balance.holds ? '' : 'state error'}>
                  {d.balance.holds ? '✓ Balances: ' : '✗ Does not balance: '}
                  {d.balance.expression}
                </p>
                <details>
                  <summary>How each deal is bucketed</summary>
                  <p class="muted">{d.rule}</p>
                </details>
              </Card>
              <Card title="Movements">
                <div class="table-wrap">
                  <table data-testid="waterfall-table">
                    <thead>
                      <tr>
                        <th scope="col">Bucket</th>
                        <th scope="col" class="num">
                          Deals
                        </th>
                        <th scope="col" class="num">
                          Amount
                        </th>
                        <th scope="col">Deals in it</th>
                      </tr>
                    </thead>
                    <tbody>
                      {steps.map((s) => {
                        const bucket = d.buckets.find((x) => x.bucket === s.label)
                        return (
                          <tr key={s.label}>
                            <th scope="row">{s.label}</th>
                            <td class="num">{num(s.count)}</td>
                            <td class="num">
                              {s.sign === '-' ? '− ' : ''}
                              {money(s.amount, d.currency)}
                            </td>
                            <td>
                              {bucket && bucket.deals.length > 0 && (
                                <details>
                                  <summary>{bucket.deals.length} deals</summary>
                                  <ul>
                                    {bucket.deals.slice(0, 50).map((x) => (
                                      <li key={x.id}>
                                        {x.name ?? x.id}: {money(x.amount, d.currency)}
                                      </li>
                                    ))}
                                  </ul>
                                </details>
                              )}
                            </td>
                          </tr>
                        )
                      })}
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
