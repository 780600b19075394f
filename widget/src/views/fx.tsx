import { DateField } from '../components/fields'
import { DataTable } from '../components/table'
import { Async, Card, useResource } from '../components/ui'
import { api } from '../endpoints'
import { ago, date, dateTime, num, plural } from '../format'
import { query, setParams } from '../state'

/** The FX rate sets in use, their staleness and provider health; the set that applies to a date. */
export default function Fx() {
  const status = useResource((signal) => api.fxStatus(signal), [])
  const day = query.value.get('rateDate') ?? ''
  const rates = useResource((signal) => api.fxRates(day ? { date: day } : {}, signal), [day])
  return (
    <div class="cols">
      <Card title="FX status">
        <Async res={status}>
          {(s) => (
            <>
              <p data-testid="fx-freshness">
                {s.newest ? (
                  <>
                    Newest rate set: week of <strong>{date(s.newest.weekDate)}</strong>, fetched{' '}
                    {ago(s.newest.fetchedAt)}{' '}
                    <span class={`badge ${s.stale ? 'warn' : 'ok'}`}>{s.stale ? 'stale' : 'fresh'}</span>
                  </>
                ) : (
                  <span class="badge bad">No rate set yet</span>
                )}
              </p>
              <dl class="kv">
                <dt>Reporting currency</dt>
                <dd>{s.currency}</dd>
                <dt>Rate sets stored</dt>
                <dd>{num(s.sets)}</dd>
                <dt>Refreshed every</dt>
                <dd>{plural(s.cacheDays, 'day')}</dd>
                <dt>Provider</dt>
                <dd>
                  {s.provider.name}{' '}
                  {s.provider.reachable === false ? (
                    <span class="badge bad">unreachable</span>
                  ) : s.provider.reachable ? (
                    <span class="badge ok">reachable</span>
                  ) : null}
                </dd>
                <dt>Last success</dt>
                <dd>{dateTime(s.provider.lastSuccessAt)}</dd>
                {s.provider.lastError && (
                  <>
                    <dt>Last error</dt>
                    <dd class="state error" style={{ padding: 0, textAlign: 'left' }}>
                      {s.provider.lastError}
                    </dd>
                  </>
                )}
                {s.provider.historicalRefusedAt && (
                  <>
                    <dt>Historical rates</dt>
                    <dd>
                      refused by the plan ({dateTime(s.provider.historicalRefusedAt)}): closed deals use the
                      nearest earlier stored set
                    </dd>
                  </>
                )}
                <dt>Deals priced via Zoho's rate</dt>
                <dd>{num(s.deals.zoho)}</dd>
                <dt>Deals on an estimated set</dt>
                <dd>{num(s.deals.estimated)}</dd>
                <dt>Unpriced deals</dt>
                <dd>{num(s.deals.unpriced)}</dd>
              </dl>
              {s.missingCurrencies.length > 0 && (
                <p>
                  Currencies without a provider rate:{' '}
                  {s.missingCurrencies.map((m) => `${m.currency} (${m.deals} deals)`).join(', ')}
                </p>
              )}
            </>
          )}
        </Async>
      </Card>
      <Card title="Rate set">
        <form class="filters" onSubmit={(e) => e.preventDefault()}>
          <DateField
            label="Set for a deal closed on"
            name="rateDate"
            value={day}
            onChange={(v) => setParams({ rateDate: v })}
          />
          {day && (
            <button type="button" onClick={() => setParams({ rateDate: null })}>
              Newest set
            </button>
          )}
        </form>
        <Async res={rates}>
          {(r) => (
            <>
              <p>
                Week of <strong>{date(r.weekDate)}</strong> ({r.kind}, {r.source})
                {r.estimated && <span class="badge warn">nearest stored set</span>}
              </p>
              <DataTable
                testId="fx-rates"
                rows={Object.entries(r.rates).sort(([a], [b]) => a.localeCompare(b))}
                rowKey={([cur]) => cur}
                columns={[
                  { label: 'Currency', rowHeader: true, cell: ([cur]) => cur },
                  { label: `Per 1 ${r.quoteBase}`, num: true, cell: ([, rate]) => rate },
                ]}
              />
            </>
          )}
        </Async>
      </Card>
    </div>
  )
}
