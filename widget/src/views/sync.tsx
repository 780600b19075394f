import { useEffect, useRef, useState } from 'preact/hooks'
import {
  isPausedRun,
  syncProgressEvent,
  type StageHistoryProgress,
  type SyncProgressEvent,
} from '#shared/contracts/sync'
import { isAbort, stream } from '../api'
import { DataTable } from '../components/table'
import { Async, Card, ErrorState, errorText, useResource } from '../components/ui'
import { api } from '../endpoints'
import { dateTime, num } from '../format'
import { syncsEnded } from '../state'

const PHASES = ['queued', 'metadata', 'deals', 'deleted', 'sweep', 'history', 'done']

/** Progress 0..100 from the phase, refined inside a phase by the rate and time-left estimate. */
export function progressPercent(ev: SyncProgressEvent): number {
  if (ev.status === 'succeeded' || ev.phase === 'done') return 100
  const i = Math.max(0, PHASES.indexOf(ev.phase))
  const step = 100 / (PHASES.length - 1)
  let within = 0
  if (ev.estimatedSecondsLeft !== null && ev.ratePerSecond > 0) {
    const left = ev.ratePerSecond * ev.estimatedSecondsLeft
    within = ev.read / (ev.read + left || 1)
  }
  return Math.min(99, Math.round(i * step + within * step))
}

function Progress({ runId, onEnd }: { runId: string; onEnd: () => void }) {
  const [ev, setEv] = useState<SyncProgressEvent | null>(null)
  const [error, setError] = useState<unknown>(null)
  const endRef = useRef(onEnd)
  endRef.current = onEnd
  useEffect(() => {
    const ctrl = new AbortController()
    stream(
      `/api/v1/sync/stream/${encodeURIComponent(runId)}`,
      (e) => {
        const parsed = syncProgressEvent.safeParse(JSON.parse(e.data))
        if (parsed.success) setEv(parsed.data)
        if (e.event === 'done' || e.event === 'error') endRef.current()
      },
      ctrl.signal,
    ).then(
      () => endRef.current(),
      (err) => !isAbort(err) && setError(err),
    )
    return () => ctrl.abort()
  }, [runId])
  const pctDone = ev ? progressPercent(ev) : 0
  const failed = ev?.status === 'failed'
  return (
    <div data-testid="sync-progress" data-status={ev?.status ?? 'starting'}>
      <div
        class="progress"
        role="progressbar"
        aria-label="Sync progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pctDone}
      >
        <div style={{ width: `${pctDone}%`, background: failed ? 'var(--red)' : undefined }} />
      </div>
      <p class="muted" aria-live="polite">
        {error
          ? errorText(error)
          : !ev
            ? 'Starting…'
            : ev.status === 'succeeded'
              ? `Sync finished: ${num(ev.read)} deals read, ${num(ev.records)} new or changed, ${num(ev.deletions)} deleted, ${num(ev.apiCalls)} API calls.`
              : failed
                ? `Sync failed: ${ev.error ?? 'unknown error'}`
                : isPausedRun(ev)
                  ? `${ev.error} ${num(ev.read)} deals read so far.`
                  : `${ev.phase}: ${num(ev.read)} deals read (${num(ev.records)} new or changed), ${num(ev.pages)} pages${
                      ev.estimatedSecondsLeft !== null
                        ? `, about ${Math.ceil(ev.estimatedSecondsLeft)} s left`
                        : ''
                    }`}
      </p>
    </div>
  )
}

/**
 * How far the Stage_History backfill has come: a large org's takes many syncs, and until a deal's
 * is read its days in stage are only bounds ("up to", "at least"), so say how many syncs remain.
 */
export function stageHistoryText(h: StageHistoryProgress): string | null {
  if (h.unavailable)
    return (
      "Stage history: Zoho CRM does not give this org's stage history, so days in stage count from " +
      'when each deal was created or when our sync saw it change stage.'
    )
  if (h.toRead === 0)
    return h.read > 0
      ? `Stage history read from Zoho CRM for every open and recently closed deal (${num(h.read)} deals).`
      : null
  const syncs = Math.ceil(h.toRead / Math.max(1, h.perSync))
  return (
    `Stage history read from Zoho CRM for ${num(h.read)} deals, ${num(h.toRead)} still to read ` +
    `(${num(h.perSync)} per sync: ${syncs === 1 ? 'the next sync' : `about ${num(syncs)} more syncs`}). ` +
    'Until then their days in stage are estimates.'
  )
}

/** Sync status, "sync now" with live progress from the SSE stream, and recent runs with API use. */
export default function Sync() {
  const [tick, setTick] = useState(0)
  const status = useResource((signal) => api.syncStatus(signal), [tick])
  const runs = useResource((signal) => api.syncRuns(10, signal), [tick])
  const history = useResource((signal) => api.stageHistory(signal), [tick])
  const historyText = history.data ? stageHistoryText(history.data) : null
  const [runId, setRunId] = useState<string | null>(null)
  // Each start follows its run afresh, even when it continues the run shown (a paused one).
  const [starts, setStarts] = useState(0)
  const [startError, setStartError] = useState<unknown>(null)
  const [starting, setStarting] = useState(false)
  const active = runId ?? status.data?.runningRunId ?? null

  async function start(kind?: 'full') {
    setStarting(true)
    setStartError(null)
    try {
      const r = await api.startSync(kind)
      setRunId(r.runId)
      setStarts((n) => n + 1)
    } catch (e) {
      setStartError(e)
    } finally {
      setStarting(false)
    }
  }

  return (
    <div class="cols">
      <Card
        title="Sync with Zoho CRM"
        actions={
          <div class="row">
            <button type="button" class="primary" disabled={starting} onClick={() => void start()}>
              Sync now
            </button>
            <button type="button" disabled={starting} onClick={() => void start('full')}>
              Full re-sync
            </button>
          </div>
        }
      >
        {status.data && (
          <>
            <p>
              Last successful sync: <strong>{dateTime(status.data.lastSuccessAt)}</strong>
            </p>
            <p class="muted" data-testid="zoho-calls">
              Zoho API calls in the last hour: {num(status.data.zohoCalls.lastHour)} of{' '}
              {num(status.data.zohoCalls.perHour)} allowed
            </p>
          </>
        )}
        {historyText && (
          <p class="muted" data-testid="stage-history-progress">
            {historyText}
          </p>
        )}
        {!active && runs.data?.runs[0] && isPausedRun(runs.data.runs[0]) ? (
          <p class="muted" data-testid="sync-paused">
            {runs.data.runs[0].error}
          </p>
        ) : null}
        {startError ? <ErrorState error={startError} /> : null}
        {active ? (
          <Progress
            key={`${active}:${starts}`}
            runId={active}
            onEnd={() => {
              setTick((t) => t + 1)
              syncsEnded.value++
            }}
          />
        ) : null}
      </Card>
      <Card title="Recent runs">
        <Async res={runs} isEmpty={(d) => d.runs.length === 0} empty="No sync has run yet.">
          {(d) => (
            <DataTable
              testId="sync-runs"
              rows={d.runs}
              rowKey={(r) => r.id}
              columns={[
                { label: 'Started', cell: (r) => dateTime(r.startedAt) },
                {
                  label: 'Kind',
                  cell: (r) => (
                    <>
                      {r.kind} <span class="muted">({r.trigger})</span>
                    </>
                  ),
                },
                {
                  label: 'Status',
                  cell: (r) => (
                    <span
                      class={`badge ${r.status === 'succeeded' ? 'ok' : r.status === 'failed' ? 'bad' : ''}`}
                      title={r.error ?? undefined}
                    >
                      {isPausedRun(r) ? 'paused' : r.status}
                    </span>
                  ),
                },
                { label: 'Deals read', num: true, cell: (r) => num(r.read) },
                { label: 'New or changed', num: true, cell: (r) => num(r.records) },
                { label: 'API calls', num: true, cell: (r) => num(r.apiCalls) },
                { label: 'Credits left', num: true, cell: (r) => num(r.creditsRemaining) },
                {
                  label: 'Took',
                  num: true,
                  cell: (r) => (r.durationSeconds === null ? '—' : `${r.durationSeconds.toFixed(1)} s`),
                },
              ]}
            />
          )}
        </Async>
      </Card>
    </div>
  )
}
