import { NO_SNAPSHOTS, useSnapshotRange } from '../components/snapshots'
import { OtherFilters } from '../components/filters'
import { DataTable, type Column } from '../components/table'
import { Async, Card, Empty, useResource } from '../components/ui'
import { api } from '../endpoints'
import { date, days, money, num, pct } from '../format'
import { filters, me, orgToday } from '../state'

/** A row of the label/value tables: the figure's name heads the row. */
interface Figure {
  label: string
  value: string
  note?: string
}
const LABEL: Column<Figure> = { label: 'Figure', rowHeader: true, cell: (x) => x.label }
const VALUE: Column<Figure> = { label: 'Value', num: true, cell: (x) => x.value }
const dealCount = (n: number) => `${num(n)} deals`

/** A print-ready report: overview, forecast, 30-day waterfall and top deals. Print → PDF. */
export default function Report() {
  const f = filters.value
  const key = JSON.stringify(f)
  const { from: _from, to: _to, ...dealFilters } = f
  const summary = useResource((signal) => api.summary(f, signal), [key])
  const forecast = useResource((signal) => api.forecast({ ...f, period: 'month' }, signal), [key])
  const range = useSnapshotRange()
  const r = range.data
  const waterfall = useResource(
    (signal) =>
      r?.defaultA && r.last
        ? api.waterfall({ ...dealFilters, from: r.defaultA, to: r.last, limit: 0 }, signal)
        : Promise.resolve(null),
    [key, r?.last],
  )
  const top = useResource(
    (signal) => api.deals({ ...dealFilters, state: 'open', sort: 'amount', dir: 'desc', limit: 10 }, signal),
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
          {me.value?.org.name ?? ''} · period {date(f.from)} – {date(f.to)} · printed {date(orgToday.value)}
          {/* The org's base currency as the API reports it (not always SGD); omitted until known. */}
          {summary.data ? ` · amounts in ${summary.data.currency}` : ''}
        </p>
        {/* The filters carried over from the other views, printed with the report. */}
        <OtherFilters />
      </header>
      <Card title="Overview">
        <Async res={summary}>
          {(s) => (
            <DataTable
              header={false}
              rows={[
                {
                  label: 'Open pipeline',
                  value: money(s.open.amount, s.currency),
                  note: dealCount(s.open.count),
                },
                { label: 'Weighted pipeline', value: money(s.open.weighted, s.currency) },
                {
                  label: 'Won in period',
                  value: money(s.won.amount, s.currency),
                  note: dealCount(s.won.count),
                },
                {
                  label: 'Lost in period',
                  value: money(s.lost.amount, s.currency),
                  note: dealCount(s.lost.count),
                },
                {
                  label: 'Win rate',
                  value: pct(s.winRate.count),
                  note: `by amount ${pct(s.winRate.amount)}`,
                },
                { label: 'Average deal size', value: money(s.averageDealSize, s.currency) },
                { label: 'Sales cycle', value: days(s.salesCycleDays) },
              ]}
              rowKey={(x) => x.label}
              columns={[LABEL, VALUE, { label: '', cell: (x: Figure) => x.note }]}
            />
          )}
        </Async>
      </Card>
      <Card title="Forecast by month">
        <Async res={forecast} isEmpty={(d) => d.buckets.length === 0}>
          {(d) => (
            <DataTable
              rows={d.buckets}
              rowKey={(b) => b.key}
              columns={[
                { label: 'Month', rowHeader: true, cell: (b) => b.key },
                { label: 'Deals', num: true, cell: (b) => num(b.total.count) },
                { label: 'Amount', num: true, cell: (b) => money(b.total.amount, d.currency) },
                { label: 'Weighted', num: true, cell: (b) => money(b.total.weighted, d.currency) },
              ]}
            />
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
                <DataTable
                  header={false}
                  rows={[
                    { label: `Start (${date(d.from)})`, value: money(d.start.amount, d.currency) },
                    ...d.buckets.map((b) => ({
                      label: b.bucket,
                      value: `${b.sign === '-' ? '− ' : '+ '}${money(b.amount, d.currency)}`,
                    })),
                    { label: `End (${date(d.to)})`, value: money(d.end.amount, d.currency) },
                  ]}
                  rowKey={(x) => x.label}
                  columns={[LABEL, VALUE]}
                />
              )
            }
          </Async>
        )}
      </Card>
      <Card title="Top open deals">
        <Async res={top} isEmpty={(d) => d.deals.length === 0}>
          {(d) => (
            <DataTable
              rows={d.deals}
              rowKey={(x) => x.id}
              columns={[
                { label: 'Deal', cell: (x) => x.name },
                { label: 'Owner', cell: (x) => x.ownerName },
                { label: 'Stage', cell: (x) => x.stage },
                { label: 'Closing', cell: (x) => date(x.closingDate) },
                { label: d.baseCurrency, num: true, cell: (x) => money(x.amountSgd, d.baseCurrency) },
              ]}
            />
          )}
        </Async>
      </Card>
    </article>
  )
}
