import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import type { Database } from '../../api/src/db/client'
import { SESSION_COOKIE, SESSION_PURPOSE } from '../../api/src/auth/middleware'
import { signToken } from '../../api/src/auth/token'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { createTestApp } from '../helpers/app'
import { asUser, asWidget } from '../helpers/auth'
import { DEAL, ORG, OTHER_ORG, U, seedOrg } from './auth-fixtures'

/**
 * Routes reachable without a session, on purpose. Everything else under /api/v1 must answer 401
 * to an anonymous caller: the list is built from the app's own routes, so new routes are covered.
 */
const PUBLIC_API = [
  'POST /api/v1/auth/widget', // the assertion is the credential
  'GET /api/v1/auth/demo-users', // demo mode only
  'POST /api/v1/zoho/notify', // Zoho Watch callback: per-channel token in the body
  'GET /api/v1/openapi.json',
  'GET /api/v1/docs',
]

const SELF = 'http://pulse.test'

function apiRoutes(app: { routes: { method: string; path: string }[] }) {
  const seen = new Set<string>()
  return app.routes
    .filter((r) => r.method !== 'ALL' && r.path.startsWith('/api/v1/') && !r.path.includes('*'))
    .map((r) => ({ method: r.method, path: r.path }))
    .filter((r) => {
      const k = `${r.method} ${r.path}`
      if (seen.has(k)) return false
      seen.add(k)
      return true
    })
}

/** A concrete URL for a route pattern: path params get a plausible Zoho-style id. */
const concrete = (path: string) => path.replace(/:[A-Za-z_]+(\{[^}]*\})?/g, '5725767000000000001')

describe(`security matrix (${testDbKind})`, () => {
  let database: Database
  let t: ReturnType<typeof createTestApp>
  beforeAll(async () => {
    database = await createTestDatabase()
    await seedOrg(database)
    t = createTestApp(database)
  })
  afterAll(() => database.close())

  const req = (path: string, init: RequestInit = {}) => t.app.request(`${SELF}${path}`, init)
  const withOrigin = (h: Record<string, string>) => ({ ...h, origin: SELF })

  it('answers 401 on every non-public /api/v1 route without a session', async () => {
    const routes = apiRoutes(t.app).filter((r) => !PUBLIC_API.includes(`${r.method} ${r.path}`))
    expect(routes.length).toBeGreaterThan(5)
    const wrong: string[] = []
    for (const r of routes) {
      const res = await req(concrete(r.path), {
        method: r.method,
        headers: { 'content-type': 'application/json', origin: SELF },
        body: ['GET', 'HEAD'].includes(r.method) ? undefined : '{}',
      })
      if (res.status !== 401) wrong.push(`${r.method} ${r.path} → ${res.status}`)
      else expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED')
    }
    expect(wrong).toEqual([])
  })

  it('answers 401 to forged, expired, wrong-purpose and deleted-user credentials', async () => {
    const exp = Math.floor(Date.now() / 1000)
    const key = t.config.secretKey
    const claims = { orgId: ORG, userId: U.admin.id }
    const cases: Record<string, string>[] = [
      {
        cookie: `${SESSION_COOKIE}=${await signToken('another-secret-key-123', SESSION_PURPOSE, { ...claims, exp: exp + 600 })}`,
      },
      { cookie: `${SESSION_COOKIE}=${await signToken(key, SESSION_PURPOSE, { ...claims, exp: exp - 1 })}` },
      { cookie: `${SESSION_COOKIE}=${await signToken(key, 'oauth-state', { ...claims, exp: exp + 600 })}` },
      { cookie: `${SESSION_COOKIE}=garbage` },
      { authorization: `Bearer ${await signToken(key, SESSION_PURPOSE, { ...claims, exp: exp + 600 })}` },
      { authorization: 'Bearer ' },
      await asUser(t.config, ORG, U.gone.id),
      await asUser(t.config, ORG, '5725767000000199999'),
    ]
    for (const headers of cases)
      expect((await req('/api/v1/me', { headers })).status, JSON.stringify(headers)).toBe(401)
  })

  it('gives each role what it may see: reps never another rep’s deals, admin routes only to admins', async () => {
    const rep1 = await asUser(t.config, ORG, U.rep1.id)
    const manager = await asUser(t.config, ORG, U.manager.id)
    const admin = await asUser(t.config, ORG, U.admin.id)
    const outsider = await asWidget(t.config, OTHER_ORG, U.outsider.id)

    expect(await (await req('/api/v1/me', { headers: rep1 })).json()).toMatchObject({ role: 'rep' })
    expect(await (await req('/api/v1/me', { headers: manager })).json()).toMatchObject({ role: 'manager' })
    expect(await (await req('/api/v1/me', { headers: admin })).json()).toMatchObject({ role: 'admin' })

    const deal = (id: string, h: Record<string, string>) => req(`/api/v1/deals/${id}`, { headers: h })
    expect((await deal(DEAL.rep1, rep1)).status).toBe(200)
    expect([403, 404]).toContain((await deal(DEAL.rep2, rep1)).status)
    expect((await deal(DEAL.rep2, manager)).status).toBe(200)
    expect([403, 404]).toContain((await deal(DEAL.rep1, outsider)).status)

    const csv = await (await req('/api/v1/exports/deals.csv', { headers: rep1 })).text()
    expect(csv).toContain(DEAL.rep1)
    expect(csv).not.toContain(DEAL.rep2)
    const list = JSON.stringify(await (await req('/api/v1/deals', { headers: rep1 })).json())
    expect(list).toContain(DEAL.rep1)
    expect(list).not.toContain(DEAL.rep2)

    // Another org's sync run is invisible even to this org's admin.
    await database.db.execute(
      sql`insert into sync_runs (id, org_id, kind, trigger, status) values ('run-other', ${OTHER_ORG}, 'full', 'manual', 'succeeded')`,
    )
    expect((await req('/api/v1/sync/stream/run-other', { headers: admin })).status).toBe(404)
    expect((await req('/api/v1/sync/stream/run-other', { headers: rep1 })).status).toBe(403)

    const adminOnly: [string, string, unknown?][] = [
      ['GET', '/api/v1/admin/users'],
      ['PUT', `/api/v1/admin/users/${U.rep1.id}/role`, { role: 'admin' }],
      ['POST', '/api/v1/admin/widget-secret'],
      ['GET', '/api/v1/admin/connection'],
      ['POST', '/api/v1/admin/disconnect'],
      ['GET', '/api/v1/audit'],
    ]
    for (const [method, path, body] of adminOnly) {
      for (const who of [rep1, manager]) {
        const res = await req(path, {
          method,
          headers: { ...withOrigin(who), 'content-type': 'application/json' },
          body: body ? JSON.stringify(body) : undefined,
        })
        expect(res.status, `${method} ${path}`).toBe(403)
      }
    }
    expect((await req('/api/v1/admin/users', { headers: admin })).status).toBe(200)
  })

  it('applies role overrides at once, refuses self-demotion and bad input, and audits them', async () => {
    const admin = withOrigin(await asUser(t.config, ORG, U.admin.id))
    const put = (id: string, body: unknown) =>
      req(`/api/v1/admin/users/${id}/role`, {
        method: 'PUT',
        headers: { ...admin, 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      })
    const res = await put(U.rep1.id, { role: 'manager' })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ userId: U.rep1.id, override: 'manager', role: 'manager' })
    const rep1 = await asUser(t.config, ORG, U.rep1.id)
    expect(await (await req('/api/v1/me', { headers: rep1 })).json()).toMatchObject({ role: 'manager' })

    expect((await put(U.admin.id, { role: 'rep' })).status).toBe(400)
    expect((await put(U.rep1.id, { role: 'owner' })).status).toBe(400)
    expect((await put(U.rep1.id, 'nope')).status).toBe(400)
    expect((await put('not-an-id', { role: 'rep' })).status).toBe(400)
    expect((await put('5725767000000199999', { role: 'rep' })).status).toBe(404)
    expect((await put(U.outsider.id, { role: 'admin' })).status).toBe(404) // another org's user

    expect(await (await put(U.rep1.id, { role: null })).json()).toEqual({
      userId: U.rep1.id,
      override: null,
      role: 'rep',
    })

    const page1 = (await (
      await req('/api/v1/audit?limit=1&action=settings.role_override', { headers: admin })
    ).json()) as {
      items: { action: string; target: string; details: { from: unknown; to: unknown }; actorName: string }[]
      nextCursor: number | null
    }
    expect(page1.items).toHaveLength(1)
    expect(page1.items[0]).toMatchObject({
      target: U.rep1.id,
      details: { from: 'manager', to: null },
      actorName: 'Ada Admin',
    })
    expect(page1.nextCursor).not.toBeNull()
    const page2 = (await (
      await req(`/api/v1/audit?limit=1&action=settings.role_override&before=${page1.nextCursor}`, {
        headers: admin,
      })
    ).json()) as typeof page1
    expect(page2.items[0]!.details).toEqual({ from: null, to: 'manager' })
    expect((await req('/api/v1/audit?limit=0', { headers: admin })).status).toBe(400)
    expect((await req('/api/v1/audit?before=abc', { headers: admin })).status).toBe(400)
  })

  it('refuses cookie-authenticated writes without our Origin (CSRF); bearer writes are exempt', async () => {
    const admin = await asUser(t.config, ORG, U.admin.id)
    const post = (headers: Record<string, string>) =>
      req('/api/v1/admin/widget-secret', { method: 'POST', headers })
    const noOrigin = await post(admin)
    expect(noOrigin.status).toBe(403)
    expect(((await noOrigin.json()) as { error: { code: string } }).error.code).toBe('CSRF')
    expect((await post({ ...admin, origin: 'https://evil.example' })).status).toBe(403)
    expect((await post({ ...admin, origin: 'https://1a2b.zappsusercontent.com' })).status).toBe(403)
    expect((await post({ ...admin, origin: 'null' })).status).toBe(403)
    expect((await post({ ...admin, origin: SELF, 'sec-fetch-site': 'cross-site' })).status).toBe(403)
    expect((await post({ ...admin, 'sec-fetch-site': 'same-origin' })).status).toBe(200)
    expect((await post({ ...admin, origin: SELF })).status).toBe(200)
    // Logout is a cookie write too.
    expect(
      (await req('/auth/logout', { method: 'POST', headers: { ...admin, origin: 'https://evil.example' } }))
        .status,
    ).toBe(403)

    const bearer = await asWidget(t.config, ORG, U.admin.id)
    expect((await post({ ...bearer, origin: 'https://1a2b.zappsusercontent.com' })).status).toBe(200)
    expect((await post(bearer)).status).toBe(200)
  })

  it('allows CORS preflights from Zoho widget origins only, never with credentials or *', async () => {
    const preflight = (origin: string) =>
      req('/api/v1/pipeline/summary', {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'authorization',
        },
      })
    for (const origin of [
      'https://8c1f.zappsusercontent.com',
      'https://8c1f.zappsusercontent.eu',
      'https://127.0.0.1:5000',
    ]) {
      const ok = await preflight(origin)
      expect(ok.status).toBe(204)
      expect(ok.headers.get('access-control-allow-origin')).toBe(origin)
      expect(ok.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization')
      expect(ok.headers.get('access-control-allow-credentials')).toBeNull()
    }
    const evil = await preflight('https://evil.example')
    expect(evil.headers.get('access-control-allow-origin')).toBeNull()
    const evilGet = await req('/api/v1/me', { headers: { origin: 'https://evil.example' } })
    expect(evilGet.headers.get('access-control-allow-origin')).toBeNull()

    // A wildcard is refused at start-up, not quietly ignored.
    expect(() => createTestApp(database, { CORS_ORIGINS: 'https://pulse.example.com, *' })).toThrow(
      /CORS_ORIGINS/,
    )
    const extra = createTestApp(database, { CORS_ORIGINS: 'https://pulse.example.com' })
    const cfg = await extra.app.request('/api/v1/me', {
      method: 'OPTIONS',
      headers: { origin: 'https://pulse.example.com', 'access-control-request-method': 'GET' },
    })
    expect(cfg.headers.get('access-control-allow-origin')).toBe('https://pulse.example.com')
    const star = await extra.app.request('/api/v1/me', {
      method: 'OPTIONS',
      headers: { origin: 'https://any.example', 'access-control-request-method': 'GET' },
    })
    expect(star.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('sets security headers on every response; widget.html may be framed by Zoho CRM only', async () => {
    const app = createTestApp(database).app
    // What node.ts serves from app/ after createApp (serveStatic); same middleware applies.
    app.get('/widget.html', (c) => c.html('<!doctype html><title>w</title>'))
    app.get('/index.html', (c) => c.html('<!doctype html><title>web</title>'))
    const json = await app.request('/api/v1/me')
    const missing = await app.request('/api/v1/nope')
    const page = await app.request('/index.html')
    const widget = await app.request('/widget.html')
    const login = await app.request('/auth/zoho/login')
    for (const res of [json, missing, page, widget, login]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin')
      expect(res.headers.get('content-security-policy')).toBeTruthy()
    }
    expect(json.headers.get('x-frame-options')).toBe('DENY')
    expect(json.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(page.headers.get('x-frame-options')).toBe('DENY')
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(widget.headers.get('x-frame-options')).toBeNull()
    const wcsp = widget.headers.get('content-security-policy')!
    expect(wcsp).toMatch(/frame-ancestors [^;]*https:\/\/\*\.zoho\.com /)
    expect(wcsp).toContain('https://*.zoho.eu')
    expect(wcsp).toContain('https://*.zappsusercontent.com')
    expect(wcsp).not.toContain("frame-ancestors 'none'")
    expect(login.headers.get('cache-control')).toBe('no-store')
    // 503 here: the test config has no Zoho client; still an envelope, not a 500.
    expect(login.status).toBe(503)
  })
})
