import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import type { ComponentType } from 'preact'
import type { MeResponse } from '#shared/contracts/auth'
import { configureApi } from './api'
import { App } from './app'
import { ErrorState, Loading } from './components/ui'
import { api } from './endpoints'
import { me as signedInUser } from './state'
import { currentUser, signedAssertion, type CrmUser, type PageContext } from './zoho'

/** In-memory only: third-party cookies are unreliable in the CRM iframe, and storage would outlive it. */
let token: string | null = null

/** Retry delay after a failed renewal: a failure must not leave the widget without a renewal timer. */
const RENEW_RETRY_MS = 30_000
let renewTimer: ReturnType<typeof setTimeout> | undefined
let signingIn: Promise<void> | null = null

function scheduleRenewal(ms: number) {
  clearTimeout(renewTimer)
  renewTimer = setTimeout(
    () => void signIn().catch((e) => console.error('widget token renewal failed', e)),
    ms,
  )
}

/**
 * Exchanges a fresh Deluge-signed assertion for a short-lived bearer token, renewed before expiry.
 * One sign-in at a time: the renewal timer and every request that got a 401 share the in-flight one.
 */
function signIn(): Promise<void> {
  signingIn ??= (async () => {
    try {
      const assertion = await signedAssertion()
      const res = await api.exchangeAssertion(assertion)
      token = res.token
      scheduleRenewal(Math.max(30, res.expiresIn - 60) * 1000)
    } catch (e) {
      scheduleRenewal(RENEW_RETRY_MS)
      throw e
    }
  })().finally(() => {
    // .finally runs asynchronously, after the assignment above, so this always clears it.
    signingIn = null
  })
  return signingIn
}

function DealPage({ id }: { id: string }) {
  const [C, setC] = useState<ComponentType<{ id: string }> | null>(null)
  useEffect(() => void import('./views/deal').then((m) => setC(() => m.default)), [])
  return C ? <C id={id} /> : <Loading />
}

type Phase =
  | { kind: 'starting' }
  | { kind: 'error'; error: unknown }
  | { kind: 'ready'; crmUser: CrmUser; me: MeResponse }

function Root({ page }: { page: PageContext }) {
  const [phase, setPhase] = useState<Phase>({ kind: 'starting' })
  useEffect(() => {
    ;(async () => {
      const crmUser = await currentUser()
      await signIn()
      const me = await api.me()
      // The Deal page reads the org's today from it too (App sets it only for the dashboard).
      signedInUser.value = me
      setPhase({ kind: 'ready', crmUser, me })
    })().catch((error) => setPhase({ kind: 'error', error }))
  }, [])
  if (phase.kind === 'starting') return <Loading label="Signing in…" />
  if (phase.kind === 'error') return <ErrorState error={phase.error} retry={() => location.reload()} />
  // On a Deal's page (related list or button), show that deal; in a web tab, the user's dashboard.
  if (page.entity === 'Deals' && page.entityId) return <DealPage id={page.entityId} />
  return <App user={phase.me} />
}

/** Runs after the SDK handshake: signs in with the Deluge assertion, then renders. */
export function start(root: HTMLElement, base: string, page: PageContext) {
  // A 401 (token dead before its renewal: sleep, throttled tab, server key change) signs in again.
  configureApi({ base, token: () => token, reauthenticate: signIn })
  root.textContent = '' // the static "Loading" placeholder of widget.html
  render(<Root page={page} />, root)
}
