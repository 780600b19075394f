import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eq, sql } from 'drizzle-orm'
import type { Database } from '../../api/src/db/client'
import { query } from '../../api/src/db/client'
import { orgs } from '../../api/src/db/schema'
import { decryptSecret } from '../../api/src/auth/crypto'
import { signWidgetAssertion } from '../../api/src/auth/widget-assertion'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { createTestApp } from '../helpers/app'
import { asUser } from '../helpers/auth'
import { ORG, OTHER_ORG, U, nonce, seedOrg, seedWidgetSecret } from './auth-fixtures'

const WIDGET_ORIGIN = 'https://5f2c1e.zappsusercontent.com'

describe(`widget identity: Deluge-signed assertion → bearer token (${testDbKind})`, () => {
  let database: Database
  let secret: string
  let t: ReturnType<typeof createTestApp>
  beforeAll(async () => {
    database = await createTestDatabase()
    await seedOrg(database)
    t = createTestApp(database)
    secret = await seedWidgetSecret(database, t.config.secretKey)
  })
  afterAll(() => database.close())

  const now = () => Math.floor(Date.now() / 1000)
  // Each call from its own client address (as @hono/node-server reports it), so the per-IP sign-in
  // rate limit stays out of the way; the rate-limit test covers it.
  let ip = 0
  const exchange = (body: unknown, headers: Record<string, string> = {}) =>
    t.app.request(
      '/api/v1/auth/widget',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: WIDGET_ORIGIN, ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      },
      { incoming: { socket: { remoteAddress: `10.0.0.${++ip}` } } },
    )

  it('exchanges a valid assertion for a short-lived bearer token that works on the API', async () => {
    const a = await signWidgetAssertion(secret, { zuid: U.rep1.zuid, orgId: ORG, iat: now(), nonce: nonce() })
    const res = await exchange(a)
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBe(WIDGET_ORIGIN)
    expect(res.headers.get('set-cookie')).toBeNull()
    const body = (await res.json()) as { token: string; expiresIn: number; expiresAt: string; user: unknown }
    expect(body.expiresIn).toBe(900)
    expect(Date.parse(body.expiresAt) - Date.now()).toBeGreaterThan(890_000)
    expect(body.user).toEqual({ userId: U.rep1.id, orgId: ORG, name: 'Rae Rep', role: 'rep' })

    const me = await t.app.request('/api/v1/me', {
      headers: { authorization: `Bearer ${body.token}`, origin: WIDGET_ORIGIN },
    })
    expect(me.status).toBe(200)
    expect(await me.json()).toMatchObject({
      userId: U.rep1.id,
      role: 'rep',
      via: 'widget',
      org: { id: ORG, name: 'Pulse Test' },
    })

    // The bearer token is not a session: it cannot be replayed as the cookie.
    const asCookie = await t.app.request('/api/v1/me', { headers: { cookie: `pp_session=${body.token}` } })
    expect(asCookie.status).toBe(401)
  })

  it('accepts the base64 signature Deluge gives by default and ids sent as JSON numbers', async () => {
    const a = await signWidgetAssertion(secret, {
      zuid: U.manager.zuid,
      orgId: ORG,
      iat: now(),
      nonce: nonce(),
    })
    const bytes = Uint8Array.from(a.sig.match(/../g)!, (h) => parseInt(h, 16))
    const res = await exchange({ payload: a.payload, sig: btoa(String.fromCharCode(...bytes)) })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { user: { role: string } }).user.role).toBe('manager')

    // Deluge maps print long ids as numbers: 19 digits must not be rounded into another org.
    const payload = `{"zuid":${U.rep2.zuid},"orgId":${ORG},"iat":${now()},"nonce":"${nonce()}"}`
    const key = await crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    )
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(payload)))
    const sig = Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('')
    const res2 = await exchange({ payload, sig })
    expect(res2.status).toBe(200)
    expect(((await res2.json()) as { user: { userId: string } }).user.userId).toBe(U.rep2.id)
  })

  it('refuses forged, tampered, stale, future and replayed assertions with 401', async () => {
    const good = { zuid: U.rep1.zuid, orgId: ORG, iat: now(), nonce: nonce() }
    const forged = await signWidgetAssertion('not-the-org-secret', good)
    expect((await exchange(forged)).status).toBe(401)

    // Signed as rep1, payload edited to claim the admin.
    const signed = await signWidgetAssertion(secret, { ...good, nonce: nonce() })
    const tampered = { payload: signed.payload.replace(U.rep1.zuid, U.admin.zuid), sig: signed.sig }
    expect((await exchange(tampered)).status).toBe(401)

    // 30 s past the 300 s skew either way: a loaded machine's second or two between signing here
    // and checking there must not carry a future assertion back inside it (it did, under load).
    const stale = await signWidgetAssertion(secret, { ...good, iat: now() - 330, nonce: nonce() })
    expect((await exchange(stale)).status).toBe(401)
    const future = await signWidgetAssertion(secret, { ...good, iat: now() + 330, nonce: nonce() })
    expect((await exchange(future)).status).toBe(401)
    const edge = await signWidgetAssertion(secret, { ...good, iat: now() - 240, nonce: nonce() })
    expect((await exchange(edge)).status).toBe(200)

    const once = await signWidgetAssertion(secret, { ...good, nonce: nonce() })
    expect((await exchange(once)).status).toBe(200)
    const replay = await exchange(once)
    expect(replay.status).toBe(401)
    expect(await replay.json()).toMatchObject({ error: { code: 'INVALID_ASSERTION' } })
  })

  it('refuses users that are unknown, deleted, or of an org without a widget secret', async () => {
    const unknown = await signWidgetAssertion(secret, {
      zuid: '79999999',
      orgId: ORG,
      iat: now(),
      nonce: nonce(),
    })
    expect((await exchange(unknown)).status).toBe(401)
    const gone = await signWidgetAssertion(secret, {
      zuid: U.gone.zuid,
      orgId: ORG,
      iat: now(),
      nonce: nonce(),
    })
    expect((await exchange(gone)).status).toBe(401)
    // Another org's user signed with this org's secret: the other org has no secret, so nothing verifies.
    const cross = await signWidgetAssertion(secret, {
      zuid: U.outsider.zuid,
      orgId: OTHER_ORG,
      iat: now(),
      nonce: nonce(),
    })
    expect((await exchange(cross)).status).toBe(401)
  })

  it('answers 400 for malformed bodies, never 500', async () => {
    for (const body of [
      '',
      'not json',
      '[]',
      '{}',
      { payload: 'x', sig: 'y' },
      { payload: '{"a":1}', sig: 'z'.repeat(64) },
    ]) {
      const res = await exchange(body)
      expect([400, 401], JSON.stringify(body)).toContain(res.status)
    }
    expect((await exchange({})).status).toBe(400)
  })

  it('lets an admin rotate the secret: stored encrypted, shown once, old assertions stop working', async () => {
    const admin = await asUser(t.config, ORG, U.admin.id)
    const origin = { origin: 'http://localhost' }
    const res = await t.app.request('http://localhost/api/v1/admin/widget-secret', {
      method: 'POST',
      headers: { ...admin, ...origin },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const { secret: fresh } = (await res.json()) as { secret: string }
    expect(fresh).toMatch(/^[0-9a-f]{64}$/)

    const [row] = await database.db.select().from(orgs).where(eq(orgs.id, ORG))
    expect(row!.widgetSecretEnc).not.toContain(fresh)
    expect(await decryptSecret(t.config.secretKey, row!.widgetSecretEnc!)).toBe(fresh)

    const status = await t.app.request('/api/v1/admin/widget-secret', { headers: admin })
    const s = (await status.json()) as Record<string, unknown>
    expect(s.configured).toBe(true)
    expect(JSON.stringify(s)).not.toContain(fresh)

    const old = await signWidgetAssertion(secret, {
      zuid: U.rep1.zuid,
      orgId: ORG,
      iat: now(),
      nonce: nonce(),
    })
    expect((await exchange(old)).status).toBe(401)
    const next = await signWidgetAssertion(fresh, {
      zuid: U.rep1.zuid,
      orgId: ORG,
      iat: now(),
      nonce: nonce(),
    })
    expect((await exchange(next)).status).toBe(200)
    secret = fresh

    const rep = await asUser(t.config, ORG, U.rep1.id)
    expect(
      (
        await t.app.request('http://localhost/api/v1/admin/widget-secret', {
          method: 'POST',
          headers: { ...rep, ...origin },
        })
      ).status,
    ).toBe(403)

    const [audit] = await query<{ action: string; details: unknown }>(
      database.db,
      sql`select action, details from audit_log where action = 'settings.widget_secret_rotated'`,
    )
    expect(audit).toBeDefined()
    expect(JSON.stringify(audit)).not.toContain(fresh)
  })

  it('rate-limits sign-in attempts per client address', async () => {
    const app = createTestApp(database).app
    const from = (addr: string) =>
      app.request(
        '/api/v1/auth/widget',
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' },
        { incoming: { socket: { remoteAddress: addr } } },
      )
    const statuses: number[] = []
    for (let i = 0; i < 130; i++) statuses.push((await from('192.0.2.1')).status)
    expect(statuses.slice(0, 100).every((s) => s === 400)).toBe(true)
    const limited = await from('192.0.2.1')
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await from('192.0.2.2')).status).toBe(400)
  })

  it('keeps seen nonces only until they could no longer pass the skew check', async () => {
    const [{ n }] = (await query<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from auth_nonces where expires_at < now() + interval '7 minutes'`,
    )) as [{ n: number }]
    const [{ total }] = (await query<{ total: number }>(
      database.db,
      sql`select count(*)::int as total from auth_nonces`,
    )) as [{ total: number }]
    expect(total).toBeGreaterThan(0)
    expect(n).toBe(total)
  })
})
