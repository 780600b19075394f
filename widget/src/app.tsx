import type { ComponentType } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import type { MeResponse } from '#shared/contracts/auth'
import { hrefFor, me, setParams, syncsEnded, view, viewPatch } from './state'
import { ErrorState, Loading, useResource } from './components/ui'
import { api } from './endpoints'
import { ago, dateTime } from './format'

type Role = MeResponse['role']
const ALL: Role[] = ['admin', 'manager', 'rep']
const LEADS: Role[] = ['admin', 'manager']

interface ViewDef {
  id: string
  label: string
  roles: Role[]
  load: () => Promise<{ default: ComponentType }>
}

/** Each view is its own chunk: first paint carries none of them. */
export const VIEWS: ViewDef[] = [
  { id: 'overview', label: 'Overview', roles: ALL, load: () => import('./views/overview') },
  { id: 'stages', label: 'By stage', roles: ALL, load: () => import('./views/stages') },
  { id: 'forecast', label: 'Forecast', roles: ALL, load: () => import('./views/forecast') },
  { id: 'trend', label: 'Trend', roles: LEADS, load: () => import('./views/trend') },
  { id: 'waterfall', label: 'Waterfall', roles: LEADS, load: () => import('./views/waterfall') },
  { id: 'funnel', label: 'Funnel', roles: LEADS, load: () => import('./views/funnel') },
  { id: 'leaderboard', label: 'Leaderboard', roles: LEADS, load: () => import('./views/leaderboard') },
  { id: 'risk', label: 'Stale & at risk', roles: ALL, load: () => import('./views/risk') },
  { id: 'deals', label: 'Deals', roles: ALL, load: () => import('./views/deals') },
  { id: 'quality', label: 'Data quality', roles: LEADS, load: () => import('./views/quality') },
  { id: 'fx', label: 'FX rates', roles: ALL, load: () => import('./views/fx') },
  { id: 'sync', label: 'Sync', roles: LEADS, load: () => import('./views/sync') },
  { id: 'settings', label: 'Settings', roles: ['admin'], load: () => import('./views/settings') },
  { id: 'report', label: 'Print report', roles: ALL, load: () => import('./views/report') },
]

function LazyView({ def }: { def: ViewDef }) {
  const [state, setState] = useState<{ id: string; C?: ComponentType; error?: unknown }>({ id: def.id })
  useEffect(() => {
    let live = true
    setState({ id: def.id })
    def.load().then(
      (m) => live && setState({ id: def.id, C: m.default }),
      (error) => live && setState({ id: def.id, error }),
    )
    return () => {
      live = false
    }
  }, [def.id])
  if (state.error) return <ErrorState error={state.error} retry={() => location.reload()} />
  if (!state.C || state.id !== def.id) return <Loading />
  return <state.C />
}

const REFRESH_MS = 60_000

/** "As of" badge: when the data was last refreshed from Zoho. */
function Freshness() {
  const res = useResource((signal) => api.syncStatus(signal), [view.value, syncsEnded.value])
  // A page left open keeps telling the truth: the status is read again every minute (a scheduled
  // sync may have run), which also moves "… minutes ago" on.
  const { reload } = res
  useEffect(() => {
    const t = setInterval(reload, REFRESH_MS)
    return () => clearInterval(t)
  }, [reload])
  if (!res.data) return null
  const { lastSuccessAt, runningRunId } = res.data
  const stale = !lastSuccessAt || Date.now() - Date.parse(lastSuccessAt) > 60 * 60 * 1000
  return (
    <span
      class={`badge ${stale ? 'warn' : 'ok'}`}
      data-testid="freshness"
      data-last-success={lastSuccessAt ?? ''}
      title={lastSuccessAt ? `Last successful sync ${dateTime(lastSuccessAt)}` : 'No successful sync yet'}
    >
      {runningRunId ? 'Syncing… ' : ''}As of {lastSuccessAt ? ago(lastSuccessAt) : 'never'}
      {/* Said in words too: the amber colour alone does not reach everyone. */}
      {stale && lastSuccessAt ? ' · stale' : ''}
    </span>
  )
}

export function App({ user, onSignOut }: { user: MeResponse; onSignOut?: () => void }) {
  // Once per signed-in user object: a view may replace `me` later (Settings, after the fiscal year
  // changed), and a re-render must not put the old one back.
  const applied = useRef<MeResponse | null>(null)
  if (applied.current !== user) {
    applied.current = user
    me.value = user
  }
  const allowed = VIEWS.filter((v) => v.roles.includes(user.role))
  const current = allowed.find((v) => v.id === view.value) ?? allowed[0]!
  useEffect(() => {
    document.title = `${current.label} · Pipeline Pulse`
  }, [current.id])
  return (
    <div class="shell">
      {/* Keyboard users skip the header and the fourteen view links to the view itself. */}
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault()
          document.getElementById('main')?.focus()
        }}
      >
        Skip to content
      </a>
      <header class="topbar">
        <span class="brand">
          <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true">
            <path d="M2 13h4l3-8 4 14 3-6h6" fill="none" stroke="currentColor" stroke-width="2.4" />
          </svg>
          Pipeline Pulse
        </span>
        <Freshness />
        <span class="spacer" />
        <span class="muted" data-testid="whoami">
          {user.name} · {user.role}
          {user.org.name ? ` · ${user.org.name}` : ''}
        </span>
        {onSignOut && (
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        )}
      </header>
      <nav class="nav" aria-label="Views">
        {allowed.map((v) => (
          <a
            key={v.id}
            href={hrefFor(viewPatch(v.id))}
            aria-current={v.id === current.id ? 'page' : undefined}
            onClick={(e) => {
              if (e.ctrlKey || e.metaKey || e.shiftKey) return
              e.preventDefault()
              setParams(viewPatch(v.id))
            }}
          >
            {v.label}
          </a>
        ))}
      </nav>
      <main id="main" tabIndex={-1}>
        <LazyView def={current} />
      </main>
    </div>
  )
}
