import { Chart } from '../components/Chart'
import { DateField } from '../components/fields'
import { FilterBar } from '../components/filters'
import { NO_SNAPSHOTS, useSnapshotRange } from '../components/snapshots'
import { DataTable } from '../components/table'
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
  const res = useResource((signal) => api.waterfall(params, signal), [JSON.stringify(params)])
  // The fields show the window T the figures use: the API's default (the fiscal quarter) until one is
  // chosen, so they are never blank while a window applies.
  const windowUsed = res.data?.window
  return (
    <div>
      <h1 class="sr-only">Waterfall</h1>
      <FilterBar showPeriod={false} controls={['closeFrom', 'closeTo']}>
        <DateField
          label="From day A"
          name="a"
          value={a}
          min={first}
          max={b}
          onChange={(v) => setParams({ a: v })}
        />
        <DateField
          label="To day B"
          name="b"
          value={b}
          min={a}
          max={last}
          onChange={(v) => setParams({ b: v })}
        />
        <DateField
          label="Closing from (T)"
          name="closeFrom"
          value={q.get('closeFrom') ?? windowUsed?.from ?? ''}
          onChange={(v) => setParams({ closeFrom: v })}
        />
        <DateField
          label="Closing to (T)"
          name="closeTo"
          value={q.get('closeTo') ?? windowUsed?.to ?? ''}
          onChange={(v) => setParams({ closeTo: v })}
        />
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
                <DataTable
                  testId="waterfall-table"
                  rows={steps}
                  rowKey={(s) => s.label}
                  columns={[
                    { label: 'Bucket', rowHeader: true, cell: (s) => s.label },
                    { label: 'Deals', num: true, cell: (s) => num(s.count) },
                    {
                      label: 'Amount',
                      num: true,
                      cell: (s) => `${s.sign === '-' ? '− ' : ''}${money(s.amount, d.currency)}`,
                    },
                    {
                      label: 'Deals in it',
                      cell: (s) => {
                        const bucket = d.buckets.find((x) => x.bucket === s.label)
                        return (
                          bucket &&
                          bucket.deals.length > 0 && (
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
                          )
                        )
                      },
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
