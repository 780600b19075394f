import { render } from 'preact'
import { signal } from '@preact/signals'
import { ApiError, configureApi } from './api'
import { App } from './app'
import { ErrorState, Loading, useResource } from './components/ui'
import { api } from './endpoints'

/** Standalone web view (served by the API at /): same-origin API, HttpOnly session cookie. */

/** Set by any 401 once signed in (the session expired, or was signed out in another tab). */
const sessionEnded = signal(false)

/** Where sign-in returns to: this view with its filters (the server accepts a local path ≤ 512). */
function loginHref(path: '/auth/zoho/login' | '/auth/demo'): string {
  const here = `${location.pathname}${location.search}`
  return here.length <= 512 && here !== '/' ? `${path}?${new URLSearchParams({ next: here })}` : path
}

function SignIn({ ended = false }: { ended?: boolean }) {
  return (
    <div class="card signin" role={ended ? 'alert' : undefined} data-testid="signin">
      <h1>Pipeline Pulse</h1>
      <p class="muted">
        {ended
          ? 'Your session has ended. Sign in again to carry on where you were.'
          : 'Your Zoho CRM pipeline in one currency. Sign in to continue.'}
      </p>
      <a class="btn primary" href={loginHref('/auth/zoho/login')}>
        Sign in with Zoho
      </a>
      <a class="btn" href={loginHref('/auth/demo')}>
        Demo sign-in
      </a>
    </div>
  )
}

async function signOut() {
  try {
    await api.logout()
  } finally {
    location.href = '/'
  }
}

function Root() {
  const res = useResource((abort) => api.me(abort), [])
  if (sessionEnded.value && res.data) return <SignIn ended />
  if (res.error instanceof ApiError && res.error.status === 401) return <SignIn />
  if (res.error) return <ErrorState error={res.error} retry={res.reload} />
  if (!res.data) return <Loading label="Signing in…" />
  return <App user={res.data} onSignOut={signOut} />
}

export function start(root: HTMLElement) {
  configureApi({ base: '', onUnauthorized: () => (sessionEnded.value = true) })
  root.textContent = '' // the static "Loading" placeholder of index.html
  render(<Root />, root)
}
