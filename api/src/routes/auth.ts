import { Hono, type Context } from 'hono'
import { and, asc, eq } from 'drizzle-orm'
import { z } from 'zod'
import type { Config } from '../config'
import { orgs, users, zohoConnections } from '../db/schema'
import { AppError } from '../http/errors'
import type { AppEnv } from '../http/types'
import { audit } from '../auth/audit'
import { readViewer, requireViewer } from '../auth/middleware'
import {
  LOGIN_SCOPES,
  acceptedApiDomain,
  activeConnection,
  callbackAccountsServer,
  ensureUser,
  identify,
  oauthClient,
} from '../auth/oauth-login'
import { appRoleFor, type AppRole } from '../auth/scope'
import { clientIp } from '../auth/security'
import {
  CONNECT_GRANT_COOKIE,
  CONNECT_GRANT_PURPOSE,
  OAUTH_COOKIE,
  OAUTH_STATE_PURPOSE,
  OAUTH_TTL_SECONDS,
  endSession,
  putSignedCookie,
  safeNext,
  startSession,
  takeSignedCookie,
  type OAuthTxn,
} from '../auth/session'
import { signToken, verifyToken, type TokenClaims } from '../auth/token'
import { recordZohoCalls } from '../zoho/call-minutes'
import { revokeReplacedToken, saveConnection } from '../zoho/connection'
import { ZohoApiError, ZohoNetworkError, ZohoOAuthError } from '../zoho/errors'
import {
  ZOHO_SYNC_SCOPES,
  buildAuthorizeUrl,
  connectionApiDomain,
  createPkcePair,
  exchangeCode,
} from '../zoho/oauth'
import type { MeResponse } from '#shared/contracts/auth'
import { addDays, fiscalQuarter, fiscalYear, localDate } from '../analytics/period'

/**
 * Web view sign-in with Zoho OAuth (authorization code + PKCE S256, signed state), the admin's
 * "connect Zoho" flow (offline access, stores the refresh token encrypted), logout, /me, and the
 * demo sign-in page. Browser-facing routes answer with small HTML pages; the API answers JSON.
 */

const STATE_PARAM_PURPOSE = `${OAUTH_STATE_PURPOSE}:param`

const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!,
  )

/**
 * The pages' icon, inline (WEB_CSP allows data: images): without one the browser asks for
 * /favicon.ico, which is not served, and logs the 404 as an error.
 */
const ICON = `data:image/svg+xml,${encodeURIComponent(
  "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'><rect width='32' height='32' rx='7' fill='#1f6feb'/>" +
    "<path d='M4 17h6l3-8 5 15 3-7h7' fill='none' stroke='#fff' stroke-width='3' stroke-linecap='round' stroke-linejoin='round'/></svg>",
)}`

function page(title: string, body: string) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Pipeline Pulse</title><link rel="icon" type="image/svg+xml" href="${esc(ICON)}">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1f2933}
a.user{display:flex;justify-content:space-between;padding:.6rem .8rem;margin:.3rem 0;border:1px solid #d9e2ec;border-radius:6px;text-decoration:none;color:inherit}
a.user:hover{background:#f0f4f8}.role{color:#52606d;font-size:.85em;text-transform:uppercase}</style></head>
<body><h1>${esc(title)}</h1>${body}</body></html>`
}

function errorPage(c: Context<AppEnv>, status: 400 | 401 | 403 | 502 | 503, title: string, message: string) {
  return c.html(
    page(
      title,
      `<p>${esc(message)}</p><p><a href="/">Back to Pipeline Pulse</a> · <a href="/auth/zoho/login">Sign in again</a></p>`,
    ),
    status,
  )
}

const randomId = () =>
  Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')

function redirectUriFor(c: Context<AppEnv>): string {
  return c.var.deps.config.ZOHO_REDIRECT_URI ?? `${new URL(c.req.url).origin}/auth/zoho/callback`
}

/** Send the browser to Zoho's authorize page, keeping the transaction in a signed HttpOnly cookie. */
async function startOAuth(
  c: Context<AppEnv>,
  mode: OAuthTxn['mode'],
  next: string,
  loginHint?: string,
): Promise<Response> {
  const { config } = c.var.deps
  const client = oauthClient(config)
  const pkce = await createPkcePair()
  const n = randomId()
  const redirectUri = redirectUriFor(c)
  const exp = Math.floor(c.var.deps.now().getTime() / 1000) + OAUTH_TTL_SECONDS
  const state = await signToken(config.secretKey, STATE_PARAM_PURPOSE, { n, exp })
  await putSignedCookie(
    c,
    OAUTH_COOKIE,
    OAUTH_STATE_PURPOSE,
    { n, verifier: pkce.verifier, mode, redirectUri, next } satisfies Omit<OAuthTxn, 'exp'>,
    OAUTH_TTL_SECONDS,
  )
  let url = buildAuthorizeUrl({
    accountsServer: client.accountsUrl,
    clientId: client.clientId,
    redirectUri,
    scopes: mode === 'connect' ? ZOHO_SYNC_SCOPES : LOGIN_SCOPES,
    state,
    accessType: mode === 'connect' ? 'offline' : 'online',
    prompt: mode === 'connect' ? 'consent' : null,
    codeChallenge: pkce.challenge,
    codeChallengeMethod: 'S256',
  })
  if (loginHint) url += `&${new URLSearchParams({ login_hint: loginHint })}`
  return c.redirect(url, 302)
}

const loginQuery = z.object({
  next: z.string().max(512).optional(),
  login_hint: z.string().email().max(320).optional(),
})

const callbackQuery = z.object({
  code: z.string().min(1).max(2048).optional(),
  state: z.string().min(1).max(2048).optional(),
  location: z.string().max(32).optional(),
  'accounts-server': z.string().max(256).optional(),
  error: z.string().max(256).optional(),
})

interface ConnectGrant extends TokenClaims {
  orgId: string
  userId: string
}

function failureFrom(c: Context<AppEnv>, err: unknown): Response {
  if (err instanceof ZohoOAuthError) {
    if (err.code === 'invalid_accounts_server')
      return errorPage(
        c,
        400,
        'Sign-in failed',
        'Zoho redirected with an accounts server this app does not trust.',
      )
    c.var.deps.logger.warn('zoho oauth refused', { code: err.code, requestId: c.var.requestId })
    return errorPage(
      c,
      401,
      'Sign-in failed',
      'Zoho did not accept the sign-in (the code may have expired). Try again.',
    )
  }
  if (err instanceof ZohoApiError && err.status === 429) {
    c.var.deps.logger.warn('zoho identify rate-limited', { err: err.message, requestId: c.var.requestId })
    return errorPage(
      c,
      503,
      'Sign-in failed',
      "Zoho refused to confirm who you are: the org's Zoho API credits or call limits are used up for now. " +
        'Try again later; the limits refill over the day.',
    )
  }
  if (err instanceof ZohoApiError || err instanceof ZohoNetworkError) {
    c.var.deps.logger.warn('zoho identify failed', { err: err.message, requestId: c.var.requestId })
    return errorPage(
      c,
      502,
      'Sign-in failed',
      'Zoho could not be reached to confirm who you are. Try again shortly.',
    )
  }
  if (err instanceof AppError && [400, 401, 403, 502, 503].includes(err.status))
    return errorPage(c, err.status as 400, 'Sign-in failed', err.message)
  throw err
}

export function authRoutes(config: Config) {
  const web = new Hono<AppEnv>()

  web.get('/zoho/login', async (c) => {
    const q = loginQuery.parse(c.req.query())
    // login_hint picks the sandbox user in demo mode; a real deployment does not pass it through.
    return startOAuth(c, 'login', safeNext(q.next), config.demoMode ? q.login_hint : undefined)
  })

  web.get('/zoho/connect', async (c) => {
    const viewer = await readViewer(c).catch(() => null)
    const grant = viewer
      ? null
      : await takeSignedCookie<ConnectGrant>(c, CONNECT_GRANT_COOKIE, CONNECT_GRANT_PURPOSE)
    if (viewer && viewer.role !== 'admin')
      return errorPage(
        c,
        403,
        'Admins only',
        'Only a Pipeline Pulse admin can connect or reconnect Zoho CRM.',
      )
    if (!viewer && !grant)
      return c.redirect(`/auth/zoho/login?${new URLSearchParams({ next: '/auth/zoho/connect' })}`, 302)
    return startOAuth(c, 'connect', '/')
  })

  web.get('/zoho/callback', async (c) => {
    const deps = c.var.deps
    const parsed = callbackQuery.safeParse(c.req.query())
    const txn = await takeSignedCookie<OAuthTxn>(c, OAUTH_COOKIE, OAUTH_STATE_PURPOSE)
    if (!parsed.success) return errorPage(c, 400, 'Sign-in failed', 'The sign-in response was malformed.')
    const q = parsed.data
    if (q.error)
      return errorPage(c, 401, 'Sign-in cancelled', 'Zoho did not grant access, so you are not signed in.')
    if (!q.code || !q.state) return errorPage(c, 400, 'Sign-in failed', 'The sign-in response had no code.')
    const stateClaims = await verifyToken<TokenClaims & { n: string }>(
      deps.config.secretKey,
      STATE_PARAM_PURPOSE,
      q.state,
      deps.now().getTime(),
    )
    if (!txn || !stateClaims || stateClaims.n !== txn.n)
      return errorPage(
        c,
        400,
        'Sign-in expired',
        'This sign-in attempt expired or was started in another browser. Start again.',
      )

    try {
      const client = oauthClient(deps.config)
      const accountsServer = callbackAccountsServer(client, q['accounts-server'], q.location)
      const tokens = await exchangeCode({
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        accountsServer,
        code: q.code,
        redirectUri: txn.redirectUri,
        codeVerifier: txn.verifier,
        fetch: deps.fetch,
        now: deps.now,
      }).catch((err: unknown) => {
        // fetch itself failed (DNS, refused, TLS): Zoho unreachable, not our bug.
        throw err instanceof ZohoOAuthError
          ? err
          : new ZohoNetworkError('Zoho accounts server unreachable', err)
      })
      const apiDomain = connectionApiDomain(
        deps.config,
        acceptedApiDomain(client, tokens.apiDomain, accountsServer),
      )
      const { user, org, calls } = await identify(deps.fetch, apiDomain, tokens.accessToken)
      const db = c.var.db
      const ip = clientIp(c)
      const role = await appRoleFor(db, org.id, user.id)
      const isZohoAdmin = user.profile?.name === 'Administrator'
      const connected = await activeConnection(db, org.id)
      // A sign-in's calls spend the org's Zoho credits: they count in its hourly budget once it is ours.
      if (connected || txn.mode === 'connect') await recordZohoCalls(db, org.id, calls)

      if (txn.mode === 'connect') {
        // Authority is judged for the org Zoho just named: an app admin there, or on first run
        // (not connected, user not synced yet) a Zoho Administrator.
        const allowed = role === 'admin' || (role === null && !connected && isZohoAdmin)
        if (!allowed)
          return errorPage(c, 403, 'Admins only', 'Only an administrator of this Zoho org can connect it.')
        if (!tokens.refreshToken)
          return errorPage(c, 502, 'Connect failed', 'Zoho issued no refresh token. Try connecting again.')
        const { replaced } = await saveConnection(db, deps.config.secretKey, {
          org,
          orgId: org.id,
          accountsServer,
          apiDomain,
          refreshToken: tokens.refreshToken,
          scopes: tokens.scope ?? ZOHO_SYNC_SCOPES.join(','),
          connectedByUserId: user.id,
          // Keep the exchange's access token (as completeConnection does): without it the first
          // sync mints another one at once, spending Zoho's 10-per-10-minutes refresh budget.
          accessToken: { token: tokens.accessToken, expiresAt: tokens.expiresAt },
        })
        // Reconnect: revoke the refresh token this one replaced, else each reconnect leaves one
        // alive at Zoho, and the 21st a user holds silently deletes their oldest, which may be
        // another environment's connection. Best effort: logged, never failing the connect. A
        // token the operator supplied (ZOHO_REFRESH_TOKEN) is theirs to revoke, not ours: it may
        // be shared with another deployment.
        let revokedPrevious: boolean | null = null
        if (replaced && replaced.refreshToken !== deps.config.ZOHO_REFRESH_TOKEN)
          revokedPrevious = await revokeReplacedToken(replaced, {
            orgId: org.id,
            fetch: deps.fetch,
            logger: deps.logger,
          })
        await ensureUser(db, org.id, user)
        await audit(db, {
          orgId: org.id,
          actorUserId: user.id,
          action: 'zoho.connected',
          target: org.id,
          details: { accountsServer, apiDomain, reconnect: connected, revokedPrevious },
          ip,
        })
        await startSession(c, { orgId: org.id, userId: user.id, name: user.full_name })
        deps.logger.info('zoho connected', { orgId: org.id, userId: user.id })
        return c.redirect(safeNext(txn.next), 302)
      }

      if (role) {
        await startSession(c, { orgId: org.id, userId: user.id, name: user.full_name })
        await audit(db, {
          orgId: org.id,
          actorUserId: user.id,
          action: 'auth.sign_in',
          details: { via: 'zoho' },
          ip,
        })
        return c.redirect(safeNext(txn.next), 302)
      }
      if (!connected && isZohoAdmin) {
        await putSignedCookie(
          c,
          CONNECT_GRANT_COOKIE,
          CONNECT_GRANT_PURPOSE,
          { orgId: org.id, userId: user.id },
          OAUTH_TTL_SECONDS,
        )
        return c.redirect('/auth/zoho/connect', 302)
      }
      return errorPage(
        c,
        403,
        'Not set up yet',
        connected
          ? 'Your Zoho user is not in Pipeline Pulse yet. It appears after the next sync; ask an admin if it does not.'
          : 'Your Zoho org is not connected to Pipeline Pulse yet. Ask a Zoho CRM administrator to sign in and connect it.',
      )
    } catch (err) {
      return failureFrom(c, err)
    }
  })

  web.post('/logout', async (c) => {
    const viewer = await readViewer(c).catch(() => null)
    endSession(c)
    if (viewer && viewer.via === 'session')
      await audit(c.var.db, {
        orgId: viewer.orgId,
        actorUserId: viewer.userId,
        action: 'auth.sign_out',
        ip: clientIp(c),
      })
    return c.json({ ok: true })
  })

  if (config.demoMode) {
    web.get('/demo', async (c) => {
      // Where the sign-in returns to, as for /zoho/login: a local path, else the home view.
      const list = await demoUsers(c, safeNext(c.req.query('next')))
      const items = list.length
        ? list
            .map(
              (u) =>
                `<a class="user" href="${esc(u.loginUrl)}"><span>${esc(u.name)}<br><small>${esc(u.email ?? '')}</small></span><span class="role">${u.role}</span></a>`,
            )
            .join('\n')
        : '<p>No users yet: the first sync of the sandbox org has not finished. Reload in a moment.</p>'
      return c.html(
        page(
          'Sign in to the demo',
          `<p>This server runs the built-in sandbox Zoho org. Pick a user: you sign in through the real OAuth flow against the sandbox accounts server, as that user.</p>${items}`,
        ),
      )
    })
  }

  // ------------------------------------------------------------------------------------- /api/v1

  const api = new Hono<AppEnv>()

  api.get('/me', requireViewer, async (c) => {
    const v = c.var.viewer
    const db = c.var.db
    const [u] = await db
      .select({ name: users.fullName, email: users.email })
      .from(users)
      .where(and(eq(users.orgId, v.orgId), eq(users.id, v.userId)))
    const [o] = await db
      .select({ name: orgs.name, base: orgs.baseCurrency, tz: orgs.timeZone, fy: orgs.fiscalYearStartMonth })
      .from(orgs)
      .where(eq(orgs.id, v.orgId))
    const [conn] = await db
      .select({ status: zohoConnections.status })
      .from(zohoConnections)
      .where(eq(zohoConnections.orgId, v.orgId))
    const body: MeResponse = {
      userId: v.userId,
      name: u?.name ?? v.name ?? v.userId,
      email: u?.email ?? null,
      role: v.role,
      via: v.via ?? 'session',
      org: {
        id: v.orgId,
        name: o?.name ?? null,
        baseCurrency: o?.base ?? null,
        connected: conn?.status === 'active',
        ...orgPeriods(c.var.deps.now(), o?.tz ?? 'UTC', o?.fy ?? 1),
      },
    }
    return c.json(body)
  })

  if (config.demoMode) api.get('/auth/demo-users', async (c) => c.json({ users: await demoUsers(c) }))

  return { web, api }
}

/** The org's today and the UI's period presets: fiscal quarters and year, in the org's time zone. */
function orgPeriods(now: Date, timeZone: string, fyStart: number) {
  let today: string
  try {
    today = localDate(now, timeZone)
  } catch {
    today = localDate(now, 'UTC') // a zone Intl cannot read must not lock the user out of /me
  }
  const thisQuarter = fiscalQuarter(today, fyStart)
  return {
    today,
    periods: {
      thisQuarter,
      lastQuarter: fiscalQuarter(addDays(thisQuarter.from, -1), fyStart),
      thisYear: fiscalYear(today, fyStart),
    },
  }
}

/** Sandbox users with their app roles, each with the login link that signs in as them (and returns to `next`). */
async function demoUsers(c: Context<AppEnv>, next = '/') {
  const db = c.var.db
  const rows = await db
    .select({
      orgId: users.orgId,
      userId: users.id,
      name: users.fullName,
      email: users.email,
      status: users.status,
    })
    .from(users)
    .orderBy(asc(users.orgId), asc(users.fullName))
    .limit(200)
  const out: {
    orgId: string
    userId: string
    name: string
    email: string | null
    role: AppRole
    loginUrl: string
  }[] = []
  for (const r of rows) {
    if (r.status !== 'active' || !r.email) continue
    const role = await appRoleFor(db, r.orgId, r.userId)
    if (!role) continue
    out.push({
      orgId: r.orgId,
      userId: r.userId,
      name: r.name,
      email: r.email,
      role,
      loginUrl: `/auth/zoho/login?${new URLSearchParams({ login_hint: r.email, ...(next === '/' ? {} : { next }) })}`,
    })
  }
  const rank = { admin: 0, manager: 1, rep: 2 }
  return out.sort((a, b) => rank[a.role] - rank[b.role] || a.name.localeCompare(b.name))
}
