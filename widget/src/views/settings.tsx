import { useEffect, useState } from 'preact/hooks'
import { SelectField } from '../components/fields'
import { DataTable } from '../components/table'
import { Async, Card, ErrorState, useResource } from '../components/ui'
import { api } from '../endpoints'
import { me } from '../state'

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
]

/** Fiscal year start, quiet days and the stuck threshold per stage (blank = the default rule). */
function SettingsForm() {
  const res = useResource((signal) => api.settings(signal), [])
  const [fy, setFy] = useState(1)
  const [quiet, setQuiet] = useState('30')
  const [stale, setStale] = useState<Record<string, string>>({})
  const [saving, setSaving] = useState(false)
  const [msg, setMsg] = useState<{ ok: boolean; error?: unknown } | null>(null)
  useEffect(() => {
    const d = res.data
    if (!d) return
    setFy(d.fiscalYearStartMonth)
    setQuiet(String(d.quietDays))
    setStale(Object.fromEntries(Object.entries(d.staleDaysByStage).map(([k, v]) => [k, String(v)])))
  }, [res.data])
  async function save(e: Event) {
    e.preventDefault()
    setSaving(true)
    setMsg(null)
    try {
      const stages = res.data?.thresholds.map((t) => t.stage) ?? []
      const staleDaysByStage = Object.fromEntries(
        stages.map((st) => [st, stale[st] ? Number(stale[st]) : null] as const),
      )
      await api.saveSettings({ fiscalYearStartMonth: fy, quietDays: Number(quiet), staleDaysByStage })
      res.reload()
      // The fiscal year moves the org's quarters and year (the presets and the default period).
      // The settings are saved either way: a failure here only leaves them until the next load.
      await api.me().then(
        (user) => (me.value = user),
        (e: unknown) => console.error('reloading /me after saving the settings failed', e),
      )
      setMsg({ ok: true })
    } catch (error) {
      setMsg({ ok: false, error })
    } finally {
      setSaving(false)
    }
  }
  return (
    <Card title="Settings">
      <Async res={res}>
        {(d) => (
          <form onSubmit={save} aria-label="Settings">
            <div class="filters">
              <SelectField
                label="Fiscal year starts in"
                name="fiscalYearStartMonth"
                value={String(fy)}
                options={MONTHS.map((m, i) => ({ value: String(i + 1), label: m }))}
                onChange={(v) => setFy(Number(v))}
              />
              <label class="field">
                Quiet after (days without activity)
                <input
                  name="quietDays"
                  type="number"
                  min={1}
                  max={3650}
                  value={quiet}
                  onInput={(e) => setQuiet((e.target as HTMLInputElement).value)}
                />
              </label>
            </div>
            <h3>Stuck thresholds (days in stage)</h3>
            <p class="muted">Blank: twice the median days won deals spent in the stage, at least 14.</p>
            <DataTable
              testId="thresholds"
              rows={d.thresholds}
              rowKey={(t) => t.stage}
              columns={[
                { label: 'Stage', rowHeader: true, cell: (t) => t.stage },
                {
                  label: 'Now',
                  num: true,
                  cell: (t) => (
                    <>
                      {t.days} <span class="muted">({t.source})</span>
                    </>
                  ),
                },
                { label: 'Median (won)', num: true, cell: (t) => t.medianWonDays ?? '—' },
                {
                  label: 'Override',
                  cell: (t) => (
                    <input
                      type="number"
                      min={1}
                      max={3650}
                      aria-label={`Stuck threshold for ${t.stage} in days`}
                      placeholder="default"
                      value={stale[t.stage] ?? ''}
                      onInput={(e) => setStale({ ...stale, [t.stage]: (e.target as HTMLInputElement).value })}
                    />
                  ),
                },
              ]}
            />
            <div class="row" style={{ marginTop: 10 }}>
              <button type="submit" class="primary" disabled={saving}>
                Save settings
              </button>
              {msg?.ok && (
                <span class="badge ok" role="status">
                  Saved
                </span>
              )}
            </div>
            {msg?.error ? <ErrorState error={msg.error} /> : null}
          </form>
        )}
      </Async>
    </Card>
  )
}

function Roles() {
  const res = useResource((signal) => api.users(signal), [])
  const [error, setError] = useState<unknown>(null)
  return (
    <Card title="Role overrides">
      <p class="muted">
        Roles come from Zoho (Administrator profile → admin; a role with roles below it → manager). An
        override wins.
      </p>
      {error ? <ErrorState error={error} /> : null}
      <Async res={res} isEmpty={(d) => d.users.length === 0} empty="No users synced yet.">
        {(d) => (
          <DataTable
            testId="role-table"
            rows={d.users}
            rowKey={(u) => u.userId}
            columns={[
              { label: 'User', cell: (u) => u.name ?? u.userId },
              {
                label: 'Role',
                cell: (u) => (
                  <select
                    aria-label={`Role override for ${u.name ?? u.userId}`}
                    value={String(u.override ?? '')}
                    onChange={(e) => {
                      const v = (e.target as HTMLSelectElement).value as 'admin' | 'manager' | 'rep' | ''
                      api.setRole(u.userId, v || null).then(res.reload, setError)
                    }}
                  >
                    <option value="">From Zoho ({u.role ?? 'no access'})</option>
                    <option value="admin">admin</option>
                    <option value="manager">manager</option>
                    <option value="rep">rep</option>
                  </select>
                ),
              },
            ]}
          />
        )}
      </Async>
    </Card>
  )
}

/** A read-only field that selects its whole value on focus, for copying into the Deluge function. */
function CopyField({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <label class="field">
      {label}
      <input
        readOnly
        value={value}
        data-testid={testId}
        spellcheck={false}
        onFocus={(e) => (e.target as HTMLInputElement).select()}
      />
    </label>
  )
}

/**
 * The two values the Deluge function needs: the secret, and the org id the API checks (the `id` of
 * Zoho's GET /org, as in /api/v1/me), which is not the short zgid Setup → Company Details shows.
 */
function WidgetSignIn() {
  const [rotated, setRotated] = useState<{ secret: string; orgId: string } | null>(null)
  const [error, setError] = useState<unknown>(null)
  const orgId = rotated?.orgId ?? me.value?.org.id
  return (
    <Card title="Widget sign-in">
      <p class="muted">
        The Deluge function <code>pipelinepulse_widget_assertion</code> signs the widget's sign-in with the
        org id and secret below (<code>ORG_ID</code> and <code>SECRET</code> in the function). Generating a
        new secret invalidates the old one; it is shown once.
      </p>
      <div class="stack" style={{ gap: 8, marginBottom: 10 }}>
        {orgId && <CopyField label="Org id (ORG_ID)" value={orgId} testId="widget-org-id" />}
        {rotated && (
          <CopyField
            label="New secret (SECRET; copy it into the Deluge function now)"
            value={rotated.secret}
            testId="widget-secret"
          />
        )}
      </div>
      <button
        type="button"
        onClick={() => {
          // The old secret stops working at once: every widget fails to sign in until the Deluge
          // function has the new one.
          const ok = window.confirm(
            'Generate a new widget secret? The current one stops working at once: the widget cannot sign anyone in until you paste the new secret into the Deluge function.',
          )
          if (!ok) return
          api.rotateWidgetSecret().then(
            (r) => setRotated({ secret: r.secret, orgId: r.orgId }),
            (e) => setError(e),
          )
        }}
      >
        Generate new secret
      </button>
      {error ? <ErrorState error={error} /> : null}
    </Card>
  )
}

/** Admin: stale thresholds, fiscal year and other settings, role overrides, widget sign-in. */
export default function Settings() {
  return (
    <div class="cols">
      <SettingsForm />
      <div class="stack">
        <Roles />
        <WidgetSignIn />
      </div>
    </div>
  )
}
