import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import { sql } from 'drizzle-orm'
import { loadConfig } from '../../api/src/config'
import { query, type Database } from '../../api/src/db/client'
import { startSession } from '../../api/src/auth/session'
import type { AppEnv } from '../../api/src/http/types'
import { createTestApp } from '../helpers/app'
import { asUser } from '../helpers/auth'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { seedOrg, type SeedResult } from '../helpers/seed'

/**
 * What a browser and an auditor observe of the transport: cookies are Secure and HSTS is sent
 * whenever the app is served over https (whatever APP_ENV says), plain-http local development keeps
 * working, and the export's audit row records the peer's address, not one the client wrote.
 */
const ZOHO = {
  ZOHO_CLIENT_ID: '1000.TESTCLIENT',
  ZOHO_CLIENT_SECRET: 'test-secret',
  ZOHO_ACCOUNTS_URL: 'https://accounts.zoho.com',
}

describe(`transport security (${testDbKind})`, () => {
  let database: Database
  let seed: SeedResult
  let server: ServerType | undefined

  beforeAll(async () => {
    database = await createTestDatabase()
    seed = await seedOrg(database.db)
  })
  afterAll(async () => {
    server?.close()
    await database?.close()
  })

  const cookieOf = (res: Response, name: string) =>
    res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`))

  it('sets Secure and HSTS over https even with APP_ENV development', async () => {
    const { app } = createTestApp(database, { ...ZOHO, APP_ENV: 'development', SECRET_KEY: 'x'.repeat(32) })
    const res = await app.request('https://pulse.example.com/auth/zoho/login')
    expect(res.status).toBe(302)
    expect(cookieOf(res, 'pp_oauth')).toMatch(/;\s*Secure/i)
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/)
  })

  it('sets Secure and HSTS behind a TLS proxy when the configured public URL is https', async () => {
    const { app } = createTestApp(database, {
      ...ZOHO,
      APP_ENV: 'development',
      SECRET_KEY: 'x'.repeat(32),
      PUBLIC_URL: 'https://pulse.example.com',
    })
    const res = await app.request('http://10.0.0.5:8000/auth/zoho/login')
    expect(cookieOf(res, 'pp_oauth')).toMatch(/;\s*Secure/i)
    expect(res.headers.get('strict-transport-security')).toBeTruthy()
  })

  it('keeps plain-http local development working: no Secure, no HSTS on http://localhost', async () => {
    const { app } = createTestApp(database, { ...ZOHO, APP_ENV: 'development', SECRET_KEY: 'x'.repeat(32) })
    const res = await app.request('http://localhost:8000/auth/zoho/login')
    expect(res.status).toBe(302)
    const cookie = cookieOf(res, 'pp_oauth')
    expect(cookie).toBeTruthy()
    expect(cookie).not.toMatch(/Secure/i)
    expect(res.headers.get('strict-transport-security')).toBeNull()
  })

  it('marks the session cookie itself Secure over https, and not over plain http', async () => {
    const config = loadConfig({ APP_ENV: 'development', LOG_LEVEL: 'silent', SECRET_KEY: 'x'.repeat(32) })
    const app = new Hono<AppEnv>()
      .use(async (c, next) => {
        c.set('deps', { config, now: () => new Date() } as AppEnv['Variables']['deps'])
        await next()
      })
      .get('/in', async (c) => {
        await startSession(c, { orgId: seed.orgId, userId: seed.users.rep })
        return c.text('ok')
      })
    const https = cookieOf(await app.request('https://pulse.example.com/in'), 'pp_session')
    expect(https).toMatch(/HttpOnly/i)
    expect(https).toMatch(/;\s*Secure/i)
    const http = cookieOf(await app.request('http://localhost:8000/in'), 'pp_session')
    expect(http).toBeTruthy()
    expect(http).not.toMatch(/Secure/i)
  })

  it('audits an export with the socket peer address, ignoring X-Forwarded-For and CF-Connecting-IP', async () => {
    const t = createTestApp(database, {}, { now: () => seed.now })
    const url = await new Promise<string>((resolve) => {
      server = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
        resolve(`http://127.0.0.1:${info.port}`),
      )
    })
    const headers = {
      ...(await asUser(t.config, seed.orgId, seed.users.admin)),
      'x-forwarded-for': '203.0.113.66, 10.0.0.1',
      'cf-connecting-ip': '198.51.100.7',
    }
    const res = await fetch(`${url}/api/v1/exports/deals.csv`, { headers })
    expect(res.status).toBe(200)
    await res.text()
    const rows = await query<{ ip: string | null; actor: string | null; target: string | null }>(
      database.db,
      sql`select ip, actor_user_id as actor, target from audit_log where org_id = ${seed.orgId} and action = 'export'`,
    )
    expect(rows).toHaveLength(1)
    expect(rows[0]!.ip).toMatch(/^(::ffff:)?127\.0\.0\.1$/)
    expect(rows[0]).toMatchObject({ actor: seed.users.admin, target: 'deals.csv' })
  })
})
