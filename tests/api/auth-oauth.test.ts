import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { eq, sql } from 'drizzle-orm'
import type { Database } from '../../api/src/db/client'
import { query } from '../../api/src/db/client'
import { zohoConnections } from '../../api/src/db/schema'
import { decryptSecret } from '../../api/src/auth/crypto'
import { refreshAccessToken } from '../../api/src/zoho/oauth'
import { startSandbox, type Sandbox, type SandboxUser } from '../../api/src/sandbox'
import { loadConfig } from '../../api/src/config'
import { createLogger } from '../../api/src/observability/logger'
import { createTestDatabase, recordedZohoCalls, testDbKind } from '../helpers/db'
import { createTestApp } from '../helpers/app'

/** Browser stand-in: follows redirects by hand and keeps cookies per host:port (path ignored). */
const seenSecrets = new Set<string>()

class Browser {
  jar = new Map<string, Map<string, string>>()
  cookieHeader(url: string) {
    const m = this.jar.get(new URL(url).host)
    return m ? [...m].map(([k, v]) => `${k}=${v}`).join('; ') : ''
  }
  store(url: string, res: Response) {
    const host = new URL(url).host
    const m = this.jar.get(host) ?? new Map<string, string>()
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';')
      const i = pair!.indexOf('=')
      const name = pair!.slice(0, i).trim()
      const value = pair!.slice(i + 1).trim()
      const expired = attrs.some((a) => /max-age=0\b/i.test(a.trim()) || /expires=Thu, 01 Jan 1970/i.test(a))
      if (expired || value === '') m.delete(name)
      else {
        m.set(name, value)
        seenSecrets.add(value)
      }
    }
    this.jar.set(host, m)
  }
  async get(url: string, init: RequestInit = {}) {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as object), cookie: this.cookieHeader(url) },
    })
    this.store(url, res)
    return res
  }
  /** Follows 302s until a non-redirect or a URL outside `stopAt`; returns every hop. */
  async follow(url: string, max = 10): Promise<{ url: string; res: Response }[]> {
    const hops: { url: string; res: Response }[] = []
    for (let i = 0; i < max; i++) {
      const res = await this.get(url)
      hops.push({ url, res })
      const loc = res.headers.get('location')
      if (res.status < 300 || res.status >= 400 || !loc) break
      url = new URL(loc, url).toString()
      for (const k of ['code', 'state', 'code_challenge']) {
        const v = new URL(url).searchParams.get(k)
        if (v) seenSecrets.add(v)
      }
      if (new URL(url).pathname === '/') {
        hops.push({ url, res: new Response(null, { status: 200 }) })
        break
      }
    }
    return hops
  }
}

describe(`Zoho OAuth sign-in and connect against the sandbox over HTTP (${testDbKind})`, () => {
  let database: Database
  let sb: Sandbox
  let server: ServerType
  let demoServer: ServerType
  let base: string
  let demoBase: string
  let t: ReturnType<typeof createTestApp>

  const listen = (fetchFn: (r: Request) => Response | Promise<Response>) =>
    new Promise<{ server: ServerType; url: string }>((resolve) => {
      const s = serve({ fetch: fetchFn, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
        resolve({ server: s, url: `http://127.0.0.1:${info.port}` }),
      )
    })

  const lines: string[] = []
  const logger = createLogger('debug', (l) => lines.push(l))

  beforeAll(async () => {
    database = await createTestDatabase()
    sb = await startSandbox({ deals: 20 })
    const env = {
      ZOHO_CLIENT_ID: sb.clientId,
      ZOHO_CLIENT_SECRET: sb.clientSecret,
      ZOHO_ACCOUNTS_URL: sb.accountsUrl,
      ZOHO_API_DOMAIN: sb.apiDomain,
    }
    t = createTestApp(database, env, { logger })
    ;({ server, url: base } = await listen(t.app.fetch))
    // Demo mode: the Node entry points the OAuth client at the sandbox and keeps demoMode on.
    const demoConfig = { ...loadConfig({ APP_ENV: 'test', LOG_LEVEL: 'silent', ...env }), demoMode: true }
    const demo = createTestApp(database, {}, { config: demoConfig, logger })
    ;({ server: demoServer, url: demoBase } = await listen(demo.app.fetch))
  })
  afterAll(async () => {
    server?.close()
    demoServer?.close()
    await sb?.close()
    await database?.close()
  })

  const recordedCalls = () => recordedZohoCalls(database.db, sb.orgId)

  async function syncUsers(list: SandboxUser[]) {
    for (const u of list)
      await database.db
        .execute(sql`insert into users (org_id, id, zuid, full_name, email, status, role_id, profile_name)
        values (${sb.orgId}, ${u.id}, ${u.zuid}, ${u.full_name}, ${u.email}, ${u.status}, ${u.roleId}, ${u.profile})
        on conflict (org_id, id) do nothing`)
  }

  it('first run: a Zoho Administrator signs in, connects the org, and has a working session', async () => {
    const b = new Browser()
    const hops = await b.follow(`${base}/auth/zoho/login`)
    const authorize = new URL(hops[0]!.res.headers.get('location')!)
    expect(authorize.origin + authorize.pathname).toBe(`${sb.accountsUrl}/oauth/v2/auth`)
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256')
    expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(authorize.searchParams.get('scope')).toBe('ZohoCRM.users.READ,ZohoCRM.org.READ')
    expect(authorize.searchParams.get('access_type')).toBe('online')
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${base}/auth/zoho/callback`)
    const oauthCookie = hops[0]!.res.headers.getSetCookie().find((c) => c.startsWith('pp_oauth='))!
    expect(oauthCookie).toMatch(/HttpOnly/i)
    expect(oauthCookie).toMatch(/SameSite=Lax/i)
    expect(oauthCookie).not.toContain(authorize.searchParams.get('code_challenge')!)

    // The callback found no connection and no synced users: on to connect, with consent and offline access.
    const paths = hops.map((h) => new URL(h.url).pathname)
    expect(paths).toContain('/auth/zoho/connect')
    const connectHop = hops.find((h) => new URL(h.url).pathname === '/auth/zoho/connect')!
    const consent = new URL(connectHop.res.headers.get('location')!)
    expect(consent.searchParams.get('access_type')).toBe('offline')
    expect(consent.searchParams.get('prompt')).toBe('consent')
    expect(consent.searchParams.get('scope')).toContain('ZohoCRM.modules.deals.READ')
    expect(hops.at(-1)!.url).toBe(`${base}/`)

    const session = hops
      .flatMap((h) => h.res.headers.getSetCookie())
      .find((c) => c.startsWith('pp_session='))!
    expect(session).toMatch(/HttpOnly/i)
    expect(session).toMatch(/SameSite=Lax/i)
    expect(session).toMatch(/Max-Age=28800/i)
    expect(session).not.toMatch(/Secure/i) // test env; production sets Secure

    const me = await b.get(`${base}/api/v1/me`)
    expect(me.status).toBe(200)
    expect(await me.json()).toMatchObject({
      userId: sb.users.admin.id,
      role: 'admin',
      via: 'session',
      org: { id: sb.orgId, connected: true },
    })

    const [conn] = await database.db.select().from(zohoConnections).where(eq(zohoConnections.orgId, sb.orgId))
    expect(conn!.accountsServer).toBe(sb.accountsUrl)
    expect(conn!.apiDomain).toBe(sb.apiDomain)
    expect(conn!.connectedByUserId).toBe(sb.users.admin.id)
    const refreshToken = await decryptSecret(t.config.secretKey, conn!.refreshTokenEnc)
    expect(conn!.refreshTokenEnc).not.toContain(refreshToken)
    const minted = await refreshAccessToken({
      clientId: sb.clientId,
      clientSecret: sb.clientSecret,
      accountsServer: conn!.accountsServer,
      refreshToken,
      fetch,
    })
    expect(minted.accessToken).toBeTruthy()

    const actions = await query<{ action: string; actor_user_id: string }>(
      database.db,
      sql`select action, actor_user_id from audit_log where org_id = ${sb.orgId} order by id`,
    )
    expect(actions.map((a) => a.action)).toContain('zoho.connected')
    // The connect callback's CurrentUser and org reads count in the org's hourly Zoho budget; the
    // sign-in before it does not (the org was not connected yet).
    expect(await recordedCalls()).toBe(2)
  })

  it('signs in a synced user directly and refuses one that is not synced yet', async () => {
    const calls = await recordedCalls()
    const b = new Browser()
    const hops = await b.follow(`${base}/auth/zoho/login?next=/deals%3Fstage%3DWon`)
    // A synced admin this time: straight back to the page asked for, no connect step.
    expect(hops.map((h) => h.res.headers.get('location'))).toContain('/deals?stage=Won')
    expect(hops.some((h) => new URL(h.url).pathname === '/auth/zoho/connect')).toBe(false)
    expect((await b.get(`${base}/api/v1/me`)).status).toBe(200)
    // Its two Zoho reads count in the org's hourly budget.
    expect(await recordedCalls()).toBe(calls + 2)

    // Demo server, rep not in the users table yet: a 403 page, no session.
    const rep = sb.users.reps[0]!
    const b2 = new Browser()
    const refused = await b2.follow(`${demoBase}/auth/zoho/login?login_hint=${encodeURIComponent(rep.email)}`)
    const last = refused.at(-1)!.res
    expect(last.status).toBe(403)
    expect(last.headers.get('content-type')).toContain('text/html')
    expect((await b2.get(`${demoBase}/api/v1/me`)).status).toBe(401)
  })

  it('says the Zoho credits are used up, not that Zoho could not be reached, when it answers 429', async () => {
    sb.setCreditsLeft(0)
    try {
      const b = new Browser()
      const hops = await b.follow(`${base}/auth/zoho/login`)
      const last = hops.at(-1)!.res
      expect(last.status).toBe(503)
      const page = await last.text()
      expect(page).toContain('API credits or call limits are used up')
      expect(page).not.toContain('could not be reached')
      expect((await b.get(`${base}/api/v1/me`)).status).toBe(401)
    } finally {
      sb.setCreditsLeft(1_000_000)
    }
  })

  it('demo mode lists the sandbox users with their roles and signs in as the one chosen', async () => {
    await syncUsers(sb.users.all)
    const b = new Browser()
    const pageRes = await b.get(`${demoBase}/auth/demo`)
    expect(pageRes.status).toBe(200)
    const html = await pageRes.text()
    const rep = sb.users.reps.find((u) => u.status === 'active')!
    expect(html).toContain(rep.full_name)
    expect(pageRes.headers.get('content-security-policy')).toContain("script-src 'self'")

    const list = (await (await b.get(`${demoBase}/api/v1/auth/demo-users`)).json()) as {
      users: { userId: string; role: string; loginUrl: string }[]
    }
    const entry = list.users.find((u) => u.userId === rep.id)!
    expect(entry.role).toBe('rep')
    expect(list.users.find((u) => u.userId === sb.users.admin.id)!.role).toBe('admin')

    await b.follow(`${demoBase}${entry.loginUrl}`)
    const me = await b.get(`${demoBase}/api/v1/me`)
    expect(await me.json()).toMatchObject({ userId: rep.id, role: 'rep' })

    // The same login_hint on a server with a real client id is ignored (Zoho decides who signs in).
    const b2 = new Browser()
    const hops = await b2.follow(`${base}/auth/zoho/login?login_hint=${encodeURIComponent(rep.email)}`)
    expect(new URL(hops[0]!.res.headers.get('location')!).searchParams.has('login_hint')).toBe(false)

    // Logout: cookie cleared, session gone, audited.
    const out = await fetch(`${demoBase}/auth/logout`, {
      method: 'POST',
      headers: { cookie: b.cookieHeader(demoBase), origin: demoBase },
    })
    expect(out.status).toBe(200)
    b.store(demoBase, out)
    expect((await b.get(`${demoBase}/api/v1/me`)).status).toBe(401)
  })

  it('demo routes do not exist with a real client id', async () => {
    expect((await fetch(`${base}/auth/demo`)).status).toBe(404)
    expect((await fetch(`${base}/api/v1/auth/demo-users`)).status).toBe(404)
  })

  it('refuses tampered state, a missing transaction cookie, an untrusted accounts server and a denied consent', async () => {
    const b = new Browser()
    const start = await b.get(`${base}/auth/zoho/login`)
    const authorize = start.headers.get('location')!
    const back = await fetch(authorize, { redirect: 'manual' })
    const callback = new URL(back.headers.get('location')!)
    expect(callback.searchParams.get('accounts-server')).toBe(sb.accountsUrl)

    const tampered = new URL(callback)
    tampered.searchParams.set('state', callback.searchParams.get('state')!.replace(/^./, 'x'))
    expect((await b.get(tampered.toString())).status).toBe(400)

    // The transaction cookie is single-use: it went with the attempt above.
    expect((await b.get(callback.toString())).status).toBe(400)
    expect((await fetch(callback.toString(), { redirect: 'manual' })).status).toBe(400)

    const b2 = new Browser()
    const s2 = await b2.get(`${base}/auth/zoho/login`)
    const cb2 = new URL(
      (await fetch(s2.headers.get('location')!, { redirect: 'manual' })).headers.get('location')!,
    )
    cb2.searchParams.set('accounts-server', 'https://accounts.zoho.com.evil.example')
    const evil = await b2.get(cb2.toString())
    expect(evil.status).toBe(400)

    const b3 = new Browser()
    const s3 = await b3.get(`${base}/auth/zoho/login`)
    const state = new URL(s3.headers.get('location')!).searchParams.get('state')!
    const denied = await b3.get(
      `${base}/auth/zoho/callback?error=access_denied&state=${encodeURIComponent(state)}`,
    )
    expect(denied.status).toBe(401)
    expect(denied.headers.getSetCookie().some((c) => c.startsWith('pp_session='))).toBe(false)
  })

  describe('reconnecting', () => {
    // A second instance of the app on the same database and Zoho: its own sign-in rate-limit
    // buckets, so these connects do not spend the ones the other tests share.
    let app: ReturnType<typeof createTestApp>
    let appServer: ServerType
    let url: string
    let admin: Browser
    beforeAll(async () => {
      app = createTestApp(
        database,
        {
          ZOHO_CLIENT_ID: sb.clientId,
          ZOHO_CLIENT_SECRET: sb.clientSecret,
          ZOHO_ACCOUNTS_URL: sb.accountsUrl,
          ZOHO_API_DOMAIN: sb.apiDomain,
        },
        { logger },
      )
      ;({ server: appServer, url } = await listen(app.app.fetch))
      admin = new Browser()
      await admin.follow(`${url}/auth/zoho/login`)
    })
    afterAll(() => appServer?.close())

    const storedRefreshToken = async () => {
      const [conn] = await database.db
        .select()
        .from(zohoConnections)
        .where(eq(zohoConnections.orgId, sb.orgId))
      return decryptSecret(t.config.secretKey, conn!.refreshTokenEnc)
    }
    const mintWith = (refreshToken: string) =>
      refreshAccessToken({
        clientId: sb.clientId,
        clientSecret: sb.clientSecret,
        accountsServer: sb.accountsUrl,
        refreshToken,
        fetch,
      })
    const reconnect = async () => {
      const hops = await admin.follow(`${url}/auth/zoho/connect`)
      expect(hops.at(-1)!.url).toBe(`${url}/`)
    }

    it("revokes the refresh token it replaced, so the admin's other connections survive", async () => {
      // The admin holds the connection's refresh token, one of another environment (staging, say)
      // and 17 of other tools: 19. Zoho keeps at most 20 per user and silently deletes the oldest
      // when a 21st is issued, so reconnects that leave their predecessors alive kill staging.
      const otherEnvironment = sb.issueRefreshToken(sb.users.admin.id)
      for (let i = 0; i < 17; i++) sb.issueRefreshToken(sb.users.admin.id)
      const first = await storedRefreshToken()
      for (let i = 0; i < 3; i++) await reconnect()
      const current = await storedRefreshToken()
      expect(current).not.toBe(first)
      expect((await mintWith(current)).accessToken).toBeTruthy()
      expect((await mintWith(otherEnvironment)).accessToken).toBeTruthy()
      // The token a reconnect replaced is dead at Zoho (revoked, not merely forgotten here).
      await expect(mintWith(first)).rejects.toMatchObject({ code: 'invalid_code' })
      const [last] = await query<{ details: { reconnect: boolean; revokedPrevious: boolean } }>(
        database.db,
        sql`select details from audit_log where org_id = ${sb.orgId} and action = 'zoho.connected'
            order by id desc limit 1`,
      )
      expect(last!.details).toMatchObject({ reconnect: true, revokedPrevious: true })
    })

    it('still connects when Zoho cannot revoke the replaced token', async () => {
      const before = await storedRefreshToken()
      const revoke = `${sb.accountsUrl}/oauth/v2/token/revoke`
      const lost = vi.spyOn(app.deps, 'fetch').mockImplementation(async (input, init) => {
        if (String(input).startsWith(revoke)) throw new TypeError('fetch failed')
        return fetch(input, init)
      })
      try {
        await reconnect()
      } finally {
        lost.mockRestore()
      }
      expect(await storedRefreshToken()).not.toBe(before)
      const me = (await (await admin.get(`${url}/api/v1/me`)).json()) as { org: { connected: boolean } }
      expect(me.org.connected).toBe(true)
      expect(lines.some((l) => l.includes('zoho replaced refresh token not revoked'))).toBe(true)
      // Not revoked: it still works at Zoho (the admin can revoke it in Zoho's Connected Apps).
      expect((await mintWith(before)).accessToken).toBeTruthy()
    })

    it('syncs first on the access token the connect minted: no token refresh', async () => {
      await reconnect()
      sb.resetCalls()
      const res = await fetch(`${url}/api/v1/sync`, {
        method: 'POST',
        headers: { cookie: admin.cookieHeader(url), origin: url, 'content-type': 'application/json' },
        body: '{}',
      })
      expect(res.status).toBe(202)
      await app.settle()
      const { runs } = (await (await admin.get(`${url}/api/v1/sync/runs?limit=1`)).json()) as {
        runs: { status: string }[]
      }
      expect(runs[0]!.status).toBe('succeeded')
      expect(sb.calls.filter((c) => c.service === 'crm').length).toBeGreaterThan(0)
      // Not one call to the accounts server: every Zoho call of the sync used the exchange's token,
      // so Zoho's 10-refreshes-per-10-minutes budget is untouched.
      expect(sb.calls.filter((c) => c.service === 'accounts')).toEqual([])
    })
  })

  it('only an admin may reconnect; an admin disconnect revokes the token at Zoho', async () => {
    const rep = new Browser()
    const repUser = sb.users.reps.find((u) => u.status === 'active')!
    await rep.follow(`${demoBase}/auth/zoho/login?login_hint=${encodeURIComponent(repUser.email)}`)
    const refused = await rep.get(`${demoBase}/auth/zoho/connect`)
    expect(refused.status).toBe(403)
    const repDisconnect = await fetch(`${demoBase}/api/v1/admin/disconnect`, {
      method: 'POST',
      headers: { cookie: rep.cookieHeader(demoBase), origin: demoBase },
    })
    expect(repDisconnect.status).toBe(403)

    const admin = new Browser()
    await admin.follow(`${base}/auth/zoho/login`)
    const [before] = await database.db
      .select()
      .from(zohoConnections)
      .where(eq(zohoConnections.orgId, sb.orgId))
    const refreshToken = await decryptSecret(t.config.secretKey, before!.refreshTokenEnc)

    const noOrigin = await fetch(`${base}/api/v1/admin/disconnect`, {
      method: 'POST',
      headers: { cookie: admin.cookieHeader(base) },
    })
    expect(noOrigin.status).toBe(403)
    const res = await fetch(`${base}/api/v1/admin/disconnect`, {
      method: 'POST',
      headers: { cookie: admin.cookieHeader(base), origin: base },
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ disconnected: true, revokedAtZoho: true })
    await expect(
      refreshAccessToken({
        clientId: sb.clientId,
        clientSecret: sb.clientSecret,
        accountsServer: sb.accountsUrl,
        refreshToken,
        fetch,
      }),
    ).rejects.toThrow()
    const me = (await (await admin.get(`${base}/api/v1/me`)).json()) as { org: { connected: boolean } }
    expect(me.org.connected).toBe(false)

    const audit = await admin.get(`${base}/api/v1/audit?limit=100`)
    const items = ((await audit.json()) as { items: { action: string; details: unknown }[] }).items
    expect(items.map((i) => i.action)).toEqual(
      expect.arrayContaining(['zoho.connected', 'zoho.disconnected', 'auth.sign_in', 'auth.sign_out']),
    )
    expect(JSON.stringify(items)).not.toContain(refreshToken)
  })

  it('never logs a code, state, cookie or token, nor a query string', async () => {
    const [conn] = await database.db.select().from(zohoConnections).where(eq(zohoConnections.orgId, sb.orgId))
    const secrets = [
      ...seenSecrets,
      await decryptSecret(t.config.secretKey, conn!.refreshTokenEnc),
      sb.clientSecret,
    ]
    expect(secrets.length).toBeGreaterThan(10)
    expect(lines.some((l) => l.includes('/auth/zoho/callback'))).toBe(true)
    for (const line of lines) {
      for (const s of secrets) expect(line).not.toContain(s)
      expect(line).not.toMatch(/[?&](code|state)=/)
    }
  })
})
