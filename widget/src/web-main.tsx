import { render } from 'preact'
import { ApiError, configureApi } from './api'
import { App } from './app'
import { ErrorState, Loading, useResource } from './components/ui'
import { api } from './endpoints'

/** Standalone web view (served by the API at /): same-origin API, HttpOnly session cookie. */

function SignIn() {
  return (
    <div class="card signin">
      <h1>Pipeline Pulse</h1>
      <p class="muted">Your Zoho CRM pipeline in one currency. Sign in to continue.</p>
      <a class="btn primary" href="/auth/zoho/login">
        Sign in with Zoho
      </a>
      <a class="btn" href="/auth/demo">
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
  const res = useResource((signal) => api.me(signal), [])
  if (res.error instanceof ApiError && res.error.status === 401) return <SignIn />
  if (res.error) return <ErrorState error={res.error} retry={res.reload} />
  if (!res.data) return <Loading label="Signing in…" />
  return <App user={res.data} onSignOut={signOut} />
}

export function start(root: HTMLElement) {
  configureApi({ base: '' })
  root.textContent = '' // the static "Loading" placeholder of index.html
  render(<Root />, root)
}
