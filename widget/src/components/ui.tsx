import type { ComponentChildren } from 'preact'
import { useCallback, useEffect, useState } from 'preact/hooks'
import { ApiError, isAbort } from '../api'

export interface Resource<T> {
  data: T | undefined
  error: unknown
  loading: boolean
  reload(): void
}

/**
 * Loads data when deps change. Each load gets its own AbortController, aborted by the effect's
 * cleanup (deps changed, reload, unmount): a superseded fetch is cancelled by the component that
 * issued it and by nothing else, so two components loading the same endpoint never cancel each other.
 */
export function useResource<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true })
  const [tick, setTick] = useState(0)
  useEffect(() => {
    const ctrl = new AbortController()
    setState((s) => ({ data: s.data, loading: true }))
    load(ctrl.signal).then(
      (data) => !ctrl.signal.aborted && setState({ data, loading: false }),
      (error) => {
        if (isAbort(error) || ctrl.signal.aborted) return
        console.error(error)
        setState({ error, loading: false })
      },
    )
    return () => ctrl.abort()
  }, [...deps, tick])
  const reload = useCallback(() => setTick((t) => t + 1), [])
  return { data: state.data, error: state.error, loading: state.loading, reload }
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    // A 401 is not always an ended session: the widget's sign-in itself can be refused, and then
    // the reason (and who can fix it) is what the user needs.
    if (error.code === 'INVALID_ASSERTION')
      return 'Pipeline Pulse could not verify your Zoho sign-in. Ask your admin to check the pipelinepulse_widget_assertion function in Zoho CRM: its secret and org id must match Settings → Widget sign-in in Pipeline Pulse.'
    if (error.status === 401 && error.code === 'UNKNOWN_USER') return error.message
    if (error.status === 401) return 'Your session has ended. Sign in again.'
    if (error.status === 403) return `Not available for your role: ${error.message}`
    if (error.status === 404) return `Not found: ${error.message}`
    return `${error.message}${error.requestId ? ` (request ${error.requestId})` : ''}`
  }
  if (error instanceof Error && error.name === 'ZodError')
    return 'The server sent data in an unexpected shape.'
  return error instanceof Error ? error.message : String(error)
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div class="state" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> {label}
    </div>
  )
}

export function ErrorState({ error, retry }: { error: unknown; retry?: () => void }) {
  // Asking for a day with no snapshot is a normal answer, not a failure.
  if (error instanceof ApiError && error.code === 'NO_SNAPSHOT')
    return (
      <div class="state" role="status">
        {error.message}
      </div>
    )
  return (
    <div class="state error" role="alert">
      <p>{errorText(error)}</p>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  )
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="state">{children}</div>
}

/** Loading → error → empty → content, the same everywhere. */
export function Async<T>({
  res,
  isEmpty,
  empty = 'Nothing to show for these filters.',
  children,
}: {
  res: Resource<T>
  isEmpty?: (d: T) => boolean
  empty?: ComponentChildren
  children: (d: T) => ComponentChildren
}) {
  if (res.error) return <ErrorState error={res.error} retry={res.reload} />
  if (res.data === undefined) return <Loading />
  if (isEmpty?.(res.data)) return <Empty>{empty}</Empty>
  return <div aria-busy={res.loading}>{children(res.data)}</div>
}

export function Card({
  title,
  children,
  actions,
}: {
  title?: string
  children: ComponentChildren
  actions?: ComponentChildren
}) {
  return (
    <section class="card" aria-label={title}>
      {(title || actions) && (
        <div class="row" style={{ justifyContent: 'space-between', marginBottom: 8 }}>
          {title && <h2 style={{ margin: 0 }}>{title}</h2>}
          {actions}
        </div>
      )}
      {children}
    </section>
  )
}

export interface StatProps {
  label: string
  value: string
  sub?: string
  testId?: string
}

export function Stat({ label, value, sub, testId }: StatProps) {
  return (
    <div class="card stat" data-testid={testId}>
      <div class="label">{label}</div>
      <div class="value" data-value>
        {value}
      </div>
      {sub && <div class="sub">{sub}</div>}
    </div>
  )
}

/** A grid of stat tiles. */
export function StatGrid({ stats, testId }: { stats: StatProps[]; testId?: string }) {
  return (
    <div class="grid" data-testid={testId}>
      {stats.map((s) => (
        <Stat key={s.label} {...s} />
      ))}
    </div>
  )
}

/** Opens the record in Zoho CRM in a new tab. */
export function ZohoLink({ href, children }: { href: string; children: ComponentChildren }) {
  return (
    <a href={href} target="_blank" rel="noopener">
      {children}
    </a>
  )
}
