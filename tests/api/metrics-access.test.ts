import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../api/src/config'
import type { Database } from '../../api/src/db/client'
import { Metrics } from '../../api/src/observability/metrics'
import { metricsRoute } from '../../api/src/observability/metrics-route'
import { createTestApp } from '../helpers/app'
import { createTestDatabase, testDbKind } from '../helpers/db'

const TOKEN = 'metrics-token-0123456789'

describe(`GET /metrics access on Node (${testDbKind})`, () => {
  let database: Database
  let server: ServerType | undefined
  beforeAll(async () => {
    database = await createTestDatabase()
  })
  afterEach(() => {
    server?.close()
    server = undefined
  })
  afterAll(() => database.close())

  /** The app with /metrics mounted as node.ts mounts it. */
  function app(env: Record<string, string> = {}) {
    const metrics = new Metrics()
    const t = createTestApp(database, env, { metrics })
    t.app.get('/metrics', metricsRoute(metrics, t.config))
    return t.app
  }
  /** A request as @hono/node-server hands it over, from a socket peer. */
  const get = (a: ReturnType<typeof app>, peer: string, headers: Record<string, string> = {}) =>
    a.request('/metrics', { headers }, { incoming: { socket: { remoteAddress: peer } } })

  async function expectEnvelope(res: Response, status: number, code: string) {
    expect(res.status).toBe(status)
    const body = (await res.json()) as { error: { code: string; message: string; requestId: string } }
    expect(body.error).toMatchObject({ code, message: expect.stringMatching(/METRICS_TOKEN/) })
    expect(body.error.requestId).toBe(res.headers.get('x-request-id'))
  }

  it('without METRICS_TOKEN: served to loopback clients only, and not through a proxy', async () => {
    const a = app()
    expect((await a.request('/healthz')).status).toBe(200)
    for (const peer of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
      const res = await get(a, peer)
      expect(res.status, peer).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
      expect(await res.text()).toContain('# TYPE http_requests_total counter')
    }
    await expectEnvelope(await get(a, '203.0.113.9'), 403, 'FORBIDDEN')
    await expectEnvelope(await get(a, '10.0.0.2'), 403, 'FORBIDDEN')
    // A reverse proxy on the same host: the socket is loopback, the visitor is not.
    await expectEnvelope(await get(a, '127.0.0.1', { 'x-forwarded-for': '203.0.113.9' }), 403, 'FORBIDDEN')
    await expectEnvelope(await get(a, '127.0.0.1', { forwarded: 'for=203.0.113.9' }), 403, 'FORBIDDEN')
  })

  it('with METRICS_TOKEN: the Bearer token is required, from anywhere (loopback too)', async () => {
    const a = app({ METRICS_TOKEN: TOKEN })
    expect((await a.request('/healthz')).status).toBe(200)
    const none = await get(a, '127.0.0.1')
    await expectEnvelope(none, 401, 'UNAUTHENTICATED')
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/)
    await expectEnvelope(
      await get(a, '203.0.113.9', { authorization: `Bearer ${TOKEN}x` }),
      401,
      'UNAUTHENTICATED',
    )
    await expectEnvelope(
      await get(a, '203.0.113.9', { authorization: `Basic ${TOKEN}` }),
      401,
      'UNAUTHENTICATED',
    )
    const ok = await get(a, '203.0.113.9', { authorization: `Bearer ${TOKEN}` })
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('http_requests_total')
  })

  it('over a real socket: a local scrape works, a proxied one is refused', async () => {
    const a = app()
    const url = await new Promise<string>((resolve) => {
      server = serve({ fetch: a.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
        resolve(`http://127.0.0.1:${info.port}`),
      )
    })
    expect((await fetch(`${url}/metrics`)).status).toBe(200)
    const proxied = await fetch(`${url}/metrics`, { headers: { 'x-forwarded-for': '198.51.100.4' } })
    expect(proxied.status).toBe(403)
  })

  it('refuses a short or spaced METRICS_TOKEN at start-up', () => {
    expect(() => loadConfig({ APP_ENV: 'test', METRICS_TOKEN: 'short' })).toThrow(
      new ConfigError('Invalid configuration: METRICS_TOKEN: must be at least 16 characters'),
    )
    expect(() => loadConfig({ APP_ENV: 'test', METRICS_TOKEN: 'has a space in the token' })).toThrow(
      /METRICS_TOKEN: must be printable ASCII without spaces/,
    )
  })
})
