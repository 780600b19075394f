import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { forwardedFor } from '../../api/src/auth/security'
import { loadConfig } from '../../api/src/config'
import type { Database } from '../../api/src/db/client'
import { createTestApp } from '../helpers/app'
import { createTestDatabase, testDbKind } from '../helpers/db'

const PROXY = '10.9.9.9'
/** A configured Zoho client, so that sign-in redirects to Zoho (302). */
const ZOHO = {
  ZOHO_CLIENT_ID: '1000.TESTCLIENT',
  ZOHO_CLIENT_SECRET: 'test-secret',
  SECRET_KEY: 'k'.repeat(20),
}

/** Sign-in rate limiting per client behind a reverse proxy (the web sign-in's burst is 30). */
describe(`client IP behind a reverse proxy (${testDbKind})`, () => {
  let database: Database
  beforeAll(async () => {
    database = await createTestDatabase()
  })
  afterAll(() => database.close())

  /** GET /auth/zoho/login through the proxy's socket, the proxy having appended `forwardedFor`. */
  const signIn = (app: ReturnType<typeof createTestApp>['app'], xff?: string, peer = PROXY) =>
    app.request(
      '/auth/zoho/login',
      { headers: xff ? { 'x-forwarded-for': xff } : {} },
      { incoming: { socket: { remoteAddress: peer } } },
    )
  async function exhaust(app: ReturnType<typeof createTestApp>['app'], xff: string) {
    for (let i = 0; i < 30; i++) expect((await signIn(app, xff)).status).toBe(302)
    expect((await signIn(app, xff)).status).toBe(429)
  }

  it('TRUST_PROXY_HOPS=1: two clients behind one proxy get their own buckets', async () => {
    const { app } = createTestApp(database, { ...ZOHO, TRUST_PROXY_HOPS: '1' })
    await exhaust(app, '203.0.113.10')
    expect((await signIn(app, '203.0.113.11')).status).not.toBe(429)
    // What a client writes left of the proxy's entry changes nothing: still the same client.
    expect((await signIn(app, '198.51.100.1, 203.0.113.10')).status).toBe(429)
    // A port the proxy adds does not make each connection a new client.
    expect((await signIn(app, '203.0.113.10:51234')).status).toBe(429)
  })

  it('by default the header is ignored: every client behind the proxy shares its bucket', async () => {
    const { app } = createTestApp(database, ZOHO)
    await exhaust(app, '203.0.113.10')
    expect((await signIn(app, '203.0.113.11')).status).toBe(429)
    expect((await signIn(app)).status).toBe(429)
    // Another socket peer is another client.
    expect((await signIn(app, '203.0.113.10', '10.9.9.10')).status).not.toBe(429)
  })

  it('reads the entry n hops from the right, ports and brackets dropped, and nothing that is not an IP', () => {
    expect(forwardedFor('198.51.100.1, 203.0.113.10', 1)).toBe('203.0.113.10')
    expect(forwardedFor('198.51.100.1, 203.0.113.10, 10.0.0.1', 2)).toBe('203.0.113.10')
    expect(forwardedFor('203.0.113.10', 2)).toBe('203.0.113.10')
    expect(forwardedFor('[2001:DB8::1]:443', 1)).toBe('2001:db8::1')
    expect(forwardedFor('2001:db8::2', 1)).toBe('2001:db8::2')
    expect(forwardedFor('1.2.3.4, unknown', 1)).toBeUndefined()
    expect(forwardedFor(undefined, 1)).toBeUndefined()
  })

  it('TRUST_PROXY_HOPS must be a small non-negative integer', () => {
    expect(loadConfig({ APP_ENV: 'test' }).TRUST_PROXY_HOPS).toBe(0)
    for (const bad of ['-1', '1.5', 'yes', '11'])
      expect(() => loadConfig({ APP_ENV: 'test', TRUST_PROXY_HOPS: bad })).toThrow(/TRUST_PROXY_HOPS/)
  })
})
