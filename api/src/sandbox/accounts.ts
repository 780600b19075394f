import { Hono, type Context } from 'hono'
import type { Faults } from './faults'
import { dropMidBody, type SandboxEnv } from './http'
import type { SandboxUser } from './org'
import { ACCESS_TOKEN_TTL_S, DEFAULT_SCOPES, type TokenStore } from './tokens'

/** The sandbox Zoho Accounts server: /oauth/v2/auth (auto-consent), /oauth/v2/token, /oauth/v2/token/revoke. */
export interface AccountsDeps {
  clientId: string
  clientSecret: string
  tokens: TokenStore
  users: SandboxUser[]
  admin: SandboxUser
  accountsUrl: () => string
  apiDomain: () => string
  faults: Faults
}

/** Token endpoint parameters arrive as query parameters (Zoho's docs) or a form body (the SDK). */
async function params(c: Context<SandboxEnv>): Promise<Record<string, string>> {
  const out: Record<string, string> = { ...c.req.query() }
  const type = c.req.header('content-type') ?? ''
  if (type.includes('application/x-www-form-urlencoded') || type.includes('multipart/form-data')) {
    const body = await c.req.parseBody()
    for (const [k, v] of Object.entries(body)) if (typeof v === 'string') out[k] = v
  }
  return out
}

export function accountsApp(d: AccountsDeps): Hono<SandboxEnv> {
  const app = new Hono<SandboxEnv>()

  app.get('/oauth/v2/auth', (c) => {
    const q = c.req.query()
    if (q.response_type !== 'code') return c.text('Invalid response_type', 400)
    if (q.client_id !== d.clientId) return c.text('Invalid Client', 400)
    if (!q.redirect_uri) return c.text('Invalid Redirect Uri', 400)
    if (!q.scope) return c.text('Invalid OAuth Scope', 400)
    // Auto-consent as the user named by login_hint (default: the admin). Deleted users cannot sign in.
    const hint = q.login_hint?.toLowerCase()
    const user = hint ? d.users.find((u) => u.email.toLowerCase() === hint) : d.admin
    if (!user || user.status !== 'active') return c.text('User does not exist or is not active', 400)
    const code = d.tokens.issueCode({
      clientId: d.clientId,
      redirectUri: q.redirect_uri,
      userId: user.id,
      scopes: q.scope.split(/[,\s]+/).filter(Boolean),
      offline: q.access_type === 'offline',
    })
    const to = new URL(q.redirect_uri)
    to.searchParams.set('code', code)
    to.searchParams.set('location', 'us')
    to.searchParams.set('accounts-server', d.accountsUrl())
    if (q.state !== undefined) to.searchParams.set('state', q.state)
    return c.redirect(to.toString(), 302)
  })

  // Faults of the token endpoint: an outage in front of it, or a connection dropped mid-body.
  app.post('/oauth/v2/token', async (c, next) => {
    const fate = d.faults.applies('accounts') ? d.faults.next() : 'none'
    if (fate === '429' || fate === '5xx')
      return c.html('<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>', 503)
    await next()
    if (fate === 'drop') await dropMidBody(c)
  })

  // Zoho answers token-endpoint errors with HTTP 200 and an {"error": ...} body.
  app.post('/oauth/v2/token', async (c) => {
    const p = await params(c)
    if (p.client_id !== d.clientId || p.client_secret !== d.clientSecret)
      return c.json({ error: 'invalid_client' })
    if (p.grant_type === 'authorization_code') {
      const g = p.code ? d.tokens.takeCode(p.code) : undefined
      if (!g) return c.json({ error: 'invalid_code' })
      if (p.redirect_uri !== undefined && p.redirect_uri !== g.redirectUri)
        return c.json({ error: 'invalid_redirect_uri' })
      const refresh = g.offline ? d.tokens.issueRefresh(g.userId, g.clientId, g.scopes) : null
      const a = d.tokens.mint(refresh, g.userId, g.scopes)
      if (a === 'throttled') return c.json({ error: 'Access Denied' })
      return c.json({
        access_token: a.token,
        ...(refresh ? { refresh_token: refresh } : {}),
        scope: g.scopes.join(' '),
        api_domain: d.apiDomain(),
        token_type: 'Bearer',
        expires_in: ACCESS_TOKEN_TTL_S,
      })
    }
    if (p.grant_type === 'refresh_token') {
      const r = p.refresh_token ? d.tokens.refresh.get(p.refresh_token) : undefined
      if (!r || r.clientId !== d.clientId) return c.json({ error: 'invalid_code' })
      const a = d.tokens.mint(r.token, r.userId, r.scopes)
      if (a === 'throttled')
        return c.json({
          error_description:
            'You have made too many requests continuously. Please try again after some time.',
          error: 'Access Denied',
          status: 'failure',
        })
      return c.json({
        access_token: a.token,
        scope: r.scopes.join(' '),
        api_domain: d.apiDomain(),
        token_type: 'Bearer',
        expires_in: ACCESS_TOKEN_TTL_S,
      })
    }
    return c.json({ error: 'unsupported_grant_type' })
  })

  app.post('/oauth/v2/token/revoke', async (c) => {
    const p = await params(c)
    if (!p.token || !d.tokens.revoke(p.token))
      return c.json({ status: 'failure', error: 'invalid_token' }, 400)
    return c.json({ status: 'success' })
  })

  app.notFound((c) => c.text('Not Found', 404))
  return app
}

export { DEFAULT_SCOPES }
