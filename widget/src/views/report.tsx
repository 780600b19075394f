import { NO_SNAPSHOTS, useSnapshotRange } from '../components/snapshots'
import { Async, Card, Empty, useResource } from '../components/ui'
import { me } from '../app'
import { api } from '../endpoints'
import { date, days, money, num, pct } from '../format'
import { filters, todayIso } from '../state'

/** A print-ready report: overview, forecast, 30-day waterfall and top deals. Print → PDF. */
export default function Report() {
  const f = filters.value
  const key = JSON.stringify(f)
  const { from: _from, to: _to, ...dealFilters } = f
  const summary = useResource(() => api.summary(f, 'report-summary'), [key])
  const forecast = useResource(() => api.forecast({ ...f, period: 'month' }, 'report-forecast'), [key])
  const range = useSnapshotRange()
  const r = range.data
  const waterfall = useResource(
    () =>
      r?.defaultA && r.last
        ? api.waterfall({ ...dealFilters, from: r.defaultA, to: r.last, limit: 0 }, 'report-waterfall')
        : Promise.resolve(null),
    [key, r?.last],
  )
  const top = useResource(
    () =>
      api.deals({ ...dealFilters, state: 'open', sort: 'amount', dir: 'desc', limit: 10 }, 'report-deals'),
    [key],
  )
  return (
    <article class="report">
      <div class="row no-print" style={{ justifyContent: 'space-between', marginBottom: 12 }}>
        <p class="muted">
          Period {f.from} to {f.to}. Uses the filters of the other views.
        </p>
        <button type="button" class="primary" onClick={() => window.print()}>
          Print / save as PDF
        </button>
      </div>
      <header style={{ marginBottom: 12 }}>
        <h1>Pipeline report</h1>
        <p class="muted">
          {me.value?.org.name ?? ''} · period {date(f.from)} – {date(f.to)} · printed {date(todayIso)} ·
          amounts in SGD
        </p>
      </header>
      <Card title="Overview">
        <Async res={summary}>
          {(s) => (
            <table>
              <tbody>
                <tr>
                  <th scope="row">Open pipeline</th>
                  <td class="num">{money(s.open.amount, s.currency)}</td>
                  <td>{num(s.open.count)} deals</td>
                </tr>
                <tr>
                  <th scope="row">Weighted pipeline</th>
                  <td class="num">{money(s.open.weighted, s.currency)}</td>
                  <td />
                </tr>
                <tr>
                  <th scope="row">Won in period</th>
                  <td class="num">{money(s.won.amount, s.currency)}</td>
                  <td>{num(s.won.count)} deals</td>
                </tr>
                <tr>
                  <th scope="row">Lost in period</th>
                  <td class="num">{money(s.lost.amount, s.currency)}</td>
                  <td>{num(s.lost.count)} deals</td>
                </tr>
                <tr>
                  <th scope="row">Win rate</th>
                  <td class="num">{pct(s.winRate.count)}</td>
                  <td>by amount {pct(s.winRate.amount)}</td>
                </tr>
                <tr>
                  <th scope="row">Average deal size</th>
                  <td class="num">{money(s.averageDealSize, s.currency)}</td>
                  <td />
                </tr>
                <tr>
                  <th scope="row">Sales cycle</th>
                  <td class="num">{days(s.salesCycleDays)}</td>
                  <td />
                </tr>
              </tbody>
            </table>
          )}
        </Async>
      </Card>
      <Card title="Forecast by month">
        <Async res={forecast} isEmpty={(d) => d.buckets.length === 0}>
          {(d) => (
            <table>
              <thead>
                <tr>
                  <th scope="col">Month</th>
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
                {d.buckets.map((b) => (
                  <tr key={b.key}>
                    <th scope="row">{b.key}</th>
                    <td class="num">{num(b.total.count)}</td>
                    <td class="num">{money(b.total.amount, d.currency)}</td>
                    <td class="num">{money(b.total.weighted, d.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Async>
      </Card>
      <Card title="Waterfall, last 30 days">
        {r && !r.last ? (
          <Empty>{NO_SNAPSHOTS}</Empty>
        ) : (
          <Async res={waterfall}>
            {(d) =>
              d && (
                <table>
                  <tbody>
                    <tr>
                      <th scope="row">Start ({date(d.from)})</th>
                      <td class="num">{money(d.start.amount, d.currency)}</td>
                    </tr>
                    {d.buckets.map((b) => (
                      <tr key={b.bucket}>
                        <th scope="row">{b.bucket}</th>
                        <td class="num">
                          {b.sign === '-' ? '− ' : '+ '}
                          {money(b.amount, d.currency)}
                        </td>
                      </tr>
                    ))}
                    <tr>
                      <th scope="row">End ({date(d.to)})</th>
                      <td class="num">{money(d.end.amount, d.currency)}</td>
                    </tr>
                  </tbody>
                </table>
              )
            }
          </Async>
        )}
      </Card>
      <Card title="Top open deals">
        <Async res={top} isEmpty={(d) => d.deals.length === 0}>
          {(d) => (
            <table>
              <thead>
                <tr>
                  <th scope="col">Deal</th>
                  <th scope="col">Owner</th>
                  <th scope="col">Stage</th>
                  <th scope="col">Closing</th>
                  <th scope="col" class="num">
                    SGD
                  </th>
                </tr>
              </thead>
              <tbody>
                {d.deals.map((r) => (
                  <tr key={r.id}>
                    <td>{r.name}</td>
                    <td>{r.ownerName}</td>
                    <td>{r.stage}</td>
                    <td>{date(r.closingDate)}</td>
                    <td class="num">{money(r.amountSgd)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Async>
      </Card>
    </article>
  )
}
