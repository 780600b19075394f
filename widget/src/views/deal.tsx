import { parseISO, subDays } from 'date-fns'
import type { DealDetail } from '#shared/contracts/deals'
import { ApiError } from '../api'
import { Async, Card, useResource, ZohoLink } from '../components/ui'
import { api } from '../endpoints'
import { date, dateTime, datesIn, days, money, moneyIn } from '../format'
import { iso, orgToday } from '../state'

/** How the rate was chosen; `base` is the org's reporting currency (not always SGD). */
const source = (base: string): Record<string, string> => ({
  identity: `already ${base} (rate 1)`,
  provider: 'Currency Freaks weekly rate',
  provider_nearest: 'nearest earlier stored rate set (historical rate unavailable)',
  zoho: "Zoho's own exchange rate (currency not offered by the provider)",
})

/** What Zoho CRM does not give the org: its deals' stage history. */
const UNAVAILABLE = "Zoho CRM does not give this org's stage history"

/**
 * Days in the stage while the deal's Stage_History is not read (still to be, or Zoho CRM refuses
 * it): counted from its creation (the stage may have been entered later: an upper bound) or from the
 * change our sync saw (the edit that made it may be later than the change: a lower bound).
 */
function provisional(d: DealDetail): { prefix: string; note: string } | null {
  if (!(d.historyPending || d.historyUnavailable) || d.daysInStage === null) return null
  const fromCreation = d.stageEnteredAt === null || d.stageEnteredAt === d.createdTime
  const from = fromCreation
    ? 'Counted from when the deal was created'
    : `Counted from when our sync saw the deal move to ${d.stage}`
  const when = fromCreation ? `when it entered ${d.stage}` : 'when it did'
  return {
    prefix: fromCreation ? 'up to ' : 'at least ',
    note: d.historyUnavailable
      ? `${from}: ${UNAVAILABLE}, which would say ${when}.`
      : `${from}, until its stage history from Zoho CRM says ${when}.`,
  }
}

/** Average days in the deal's stage over deals that left it in the last 12 months, and its risk reasons. */
function StageContext({ d }: { d: DealDetail }) {
  const { id, stage, daysInStage } = d
  const guess = provisional(d)
  // The org's last 12 months (the browser's date can be another day, or wrong).
  const today = orgToday.value
  const p = { from: iso(subDays(parseISO(today), 365)), to: today }
  const tis = useResource((signal) => api.timeInStage(p, signal), [stage, today])
  // This deal's flags only: a listing (even of its stage) is capped and may leave it out.
  const risk = useResource((signal) => api.risk({ dealId: id }, signal), [id, stage])
  const avg = tis.data?.stages.find((s) => s.stage === stage)?.left.averageDays ?? null
  const reasons = risk.data?.deals.find((x) => x.id === id)?.reasons ?? []
  return (
    <Card title="Time in stage">
      <p data-testid="deal-days">
        <strong>
          {guess?.prefix}
          {days(daysInStage)}
        </strong>{' '}
        in {stage} so far.
      </p>
      {guess && (
        <p class="muted" data-testid="deal-days-provisional">
          {guess.note}
        </p>
      )}
      <p class="muted" data-testid="deal-stage-average">
        {tis.data
          ? avg === null
            ? `No deal has left ${stage} in the last 12 months.`
            : `Average time in ${stage}: ${days(avg)} (deals that left it in the last 12 months).`
          : 'Loading the average…'}
      </p>
      <h3>Risk</h3>
      {risk.data && reasons.length === 0 && <p class="muted">No risk flags.</p>}
      {reasons.length > 0 && (
        <ul data-testid="deal-risks">
          {reasons.map((r) => (
            <li key={r.code}>
              <span class={`badge ${r.provisional ? '' : 'warn'}`}>{r.code}</span> {datesIn(r.message)}
            </li>
          ))}
        </ul>
      )}
    </Card>
  )
}

/** A Deal's page inside Zoho CRM: value in the base currency with FX provenance, stage history, time in stage, risks. */
export default function Deal({ id }: { id: string }) {
  const res = useResource((signal) => api.deal(id, signal), [id])
  // The API answers 404 both for a deal outside the viewer's scope and for one not synced yet:
  // say both, in the rep's words, rather than "Not found: Deal not found".
  if (res.error instanceof ApiError && res.error.status === 404)
    return (
      <main>
        <div class="state" role="status" data-testid="deal-unavailable">
          <p>
            This deal is not in your Pipeline Pulse view. It may belong to someone outside your team, or it
            may be new and not synced from Zoho CRM yet (that takes a few minutes).
          </p>
          <button type="button" onClick={res.reload}>
            Try again
          </button>
        </div>
      </main>
    )
  return (
    <main>
      <Async res={res}>
        {(d) => (
          <div class="cols" data-testid="deal-view">
            <Card title={d.name}>
              <div class="stat" data-testid="deal-sgd">
                <div class="label">Value in {d.baseCurrency}</div>
                <div class="value">
                  {d.amountSgd === null ? 'Unpriced' : money(d.amountSgd, d.baseCurrency)}
                </div>
                {d.weightedSgd && <div class="sub">Weighted {money(d.weightedSgd, d.baseCurrency)}</div>}
              </div>
              <dl class="kv" data-testid="deal-fx">
                <dt>Original amount</dt>
                <dd>{d.amount === null ? '—' : moneyIn(d.amount, d.currency)}</dd>
                <dt>Rate</dt>
                <dd>
                  {d.fx.rate === null ? '—' : `1 ${d.currency} = ${d.fx.rate} ${d.baseCurrency}`}
                  {d.fx.estimated && <span class="badge warn">estimated</span>}
                </dd>
                <dt>Rate set</dt>
                <dd>{d.fx.date ? `week of ${date(d.fx.date)}` : '—'}</dd>
                <dt>Source</dt>
                <dd>{d.fx.source ? (source(d.baseCurrency)[d.fx.source] ?? d.fx.source) : '—'}</dd>
                <dt>Stage</dt>
                <dd>
                  {d.stage} <span class="badge">{d.state}</span>
                </dd>
                <dt>Owner</dt>
                <dd>{d.ownerName ?? '—'}</dd>
                <dt>Closing date</dt>
                <dd>
                  {date(d.closingDate)}
                  {d.closingPushCount > 0 && <span class="muted"> (moved later {d.closingPushCount}×)</span>}
                </dd>
                <dt>Last activity</dt>
                <dd>{dateTime(d.lastActivityTime)}</dd>
              </dl>
              <p>
                <ZohoLink href={d.zohoUrl}>Open in Zoho CRM</ZohoLink>
              </p>
            </Card>
            <StageContext d={d} />
            <Card title="Stage history">
              {d.historyPending && (
                <p class="muted" data-testid="deal-history-pending">
                  This deal's stage history has not been read from Zoho CRM yet: it arrives with the coming
                  syncs.
                  {d.stageHistory.length > 0 &&
                    ' Until then, only the stage changes our sync saw are listed.'}
                </p>
              )}
              {d.historyUnavailable && (
                <p class="muted" data-testid="deal-history-unavailable">
                  {UNAVAILABLE} (its Stage History list may be hidden or not permitted), so{' '}
                  {d.stageHistory.length > 0
                    ? 'only the stage changes our sync saw are listed.'
                    : 'no stage change of this deal is known: our sync has seen none.'}
                </p>
              )}
              {d.stageHistory.length === 0 ? (
                !d.historyPending && !d.historyUnavailable && <p class="muted">No stage changes recorded.</p>
              ) : (
                <ol class="timeline" data-testid="deal-history">
                  {d.stageHistory.map((h, i) => (
                    <li key={i}>
                      <strong>{h.stage}</strong> <span class="muted">{days(h.days)}</span>
                      <div class="muted">
                        {dateTime(h.enteredAt)}
                        {h.leftAt ? ` → ${dateTime(h.leftAt)}` : ' → now'}
                        {h.amount ? ` · ${moneyIn(h.amount, d.currency)}` : ''}
                      </div>
                    </li>
                  ))}
                </ol>
              )}
            </Card>
          </div>
        )}
      </Async>
    </main>
  )
}
