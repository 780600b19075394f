import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import type { Database } from '../../api/src/db/client'
import { createLogger } from '../../api/src/observability/logger'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { createTestApp } from '../helpers/app'
import { asUser, asWidget } from '../helpers/auth'
import { ORG, U, seedOrg, seedWidgetSecret } from './auth-fixtures'

/**
 * Property: whatever arrives in a route's path params, query string, JSON body or headers, the API
 * never answers 500. The routes come from `app.routes`, so routes added later are fuzzed too.
 */

const SELF = 'http://pulse.test'
const QUERY_KEYS = [
  'from',
  'to',
  'asOf',
  'date',
  'start',
  'end',
  'stage',
  'stages',
  'owner',
  'ownerId',
  'owners',
  'pipeline',
  'currency',
  'limit',
  'before',
  'cursor',
  'page',
  'perPage',
  'sort',
  'order',
  'q',
  'kind',
  'months',
  'weeks',
  'period',
  'groupBy',
  'group',
  'bucket',
  'id',
  'format',
  'next',
  'code',
  'state',
  'error',
  'location',
  'accounts-server',
  'login_hint',
  'action',
  'fields',
  'status',
  'state',
  'days',
  'threshold',
  'probability',
]
const BODY_KEYS = [
  'kind',
  'role',
  'payload',
  'sig',
  'ids',
  'channel_id',
  'token',
  'operation',
  'module',
  'settings',
  'baseCurrency',
  'staleDaysByStage',
  'quietDays',
  'fiscalYearStartMonth',
  'from',
  'to',
]

const ascii = (max: number) => fc.stringMatching(new RegExp(`^[\\x20-\\x7e]{0,${max}}$`))
const weird = fc.constantFrom(
  '',
  ' ',
  '-1',
  '0',
  '1e309',
  'NaN',
  'Infinity',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '{"a":1}',
  '2026-02-30',
  '2026-13-01',
  '0000-00-00',
  '9999-12-31',
  '2026-11-26T25:61:00Z',
  '..',
  '../..',
  '%',
  '%00',
  "' or 1=1 --",
  '"; drop table deals; --',
  '<script>alert(1)</script>',
  '\u0000',
  '\uffff',
  '𝕏',
  '9'.repeat(40),
  '1'.repeat(400),
  'x'.repeat(3000),
  'SGD',
  'XXX',
  'admin',
  'Closed Won',
)
const value = fc.oneof(
  weird,
  fc.string({ maxLength: 30 }),
  fc.integer().map(String),
  fc.double().map(String),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
)
const pathParam = fc.oneof(
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
  fc.stringMatching(/^\d{1,25}$/),
  fc.constantFrom('%E0%A4%A', '%', '..', '%2e%2e', '%00', 'run-1', '5725767000000500001', 'a'.repeat(500)),
)
const jsonBody = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.constantFrom(...BODY_KEYS), fc.oneof(fc.jsonValue({ maxDepth: 2 }), value), {
    maxKeys: 4,
  }),
)
const body = fc.oneof(
  jsonBody.map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('', '{', 'null', '[]', '{"payload":1,"sig":2}', '{"role":null}', '{"kind":"full"}'),
)
const identity = fc.constantFrom('none', 'admin', 'manager', 'rep', 'widget-rep', 'bad-bearer', 'bad-cookie')
const contentType = fc.constantFrom(
  'application/json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  '',
)

describe(`no 500s for any input on any route (${testDbKind})`, () => {
  let database: Database
  let t: ReturnType<typeof createTestApp>
  const lines: string[] = []
  const creds: Record<string, Record<string, string>> = {}
  let widgetSecret = ''
  beforeAll(async () => {
    database = await createTestDatabase()
    await seedOrg(database)
    const logger = createLogger('debug', (l) => lines.push(l))
    // A Zoho client pointed at a closed port: sign-in routes run their real code up to the network edge.
    t = createTestApp(
      database,
      {
        ZOHO_CLIENT_ID: '1000.FUZZ',
        ZOHO_CLIENT_SECRET: 'fuzz-client-secret',
        ZOHO_ACCOUNTS_URL: 'http://127.0.0.1:9',
        ZOHO_API_DOMAIN: 'http://127.0.0.1:9',
      },
      { logger, fetch: async () => Promise.reject(new TypeError('fetch failed')) },
    )
    widgetSecret = await seedWidgetSecret(database, t.config.secretKey)
    creds.none = {}
    creds.admin = await asUser(t.config, ORG, U.admin.id)
    creds.manager = await asUser(t.config, ORG, U.manager.id)
    creds.rep = await asUser(t.config, ORG, U.rep1.id)
    creds['widget-rep'] = await asWidget(t.config, ORG, U.rep1.id)
    creds['bad-bearer'] = { authorization: 'Bearer eyJ.abc.def' }
    creds['bad-cookie'] = { cookie: 'pp_session=%%%; pp_oauth=x.y' }
  })
  afterAll(() => database.close())

  it('enumerates the registered routes and fuzzes each of them', async () => {
    const seen = new Set<string>()
    const routes = t.app.routes
      .filter((r) => r.method !== 'ALL' && !r.path.includes('*'))
      .filter((r) => !seen.has(`${r.method} ${r.path}`) && seen.add(`${r.method} ${r.path}`))
    expect(routes.map((r) => r.path)).toEqual(
      expect.arrayContaining(['/auth/zoho/callback', '/api/v1/auth/widget', '/api/v1/me']),
    )

    let ip = 0
    const failures: string[] = []
    await fc.assert(
      fc.asyncProperty(
        fc.nat(routes.length - 1),
        fc.array(pathParam, { minLength: 3, maxLength: 3 }),
        fc.dictionary(fc.oneof(fc.constantFrom(...QUERY_KEYS), fc.string({ maxLength: 8 })), value, {
          maxKeys: 5,
        }),
        body,
        identity,
        contentType,
        fc.record(
          { 'if-none-match': ascii(20), 'last-event-id': ascii(10), accept: ascii(20) },
          { requiredKeys: [] },
        ),
        async (i, params, query, payload, who, ctype, extra) => {
          const route = routes[i]!
          let n = 0
          const path = route.path.replace(/:[A-Za-z_]+(\{[^}]*\})?/g, () => params[n++ % params.length]!)
          const qs = new URLSearchParams(query).toString()
          const headers: Record<string, string> = { ...creds[who], ...extra, origin: SELF }
          if (ctype) headers['content-type'] = ctype
          const method = route.method
          const res = await t.app.request(
            `${SELF}${path}${qs ? `?${qs}` : ''}`,
            { method, headers, body: method === 'GET' || method === 'HEAD' ? undefined : payload },
            { incoming: { socket: { remoteAddress: `10.1.${(ip >> 8) & 255}.${ip++ & 255}` } } },
          )
          // Drain (streams included) so a late failure inside a body cannot hide.
          if (res.headers.get('content-type')?.includes('text/event-stream')) await res.body?.cancel()
          else await res.arrayBuffer()
          if (res.status >= 500 && res.status !== 502 && res.status !== 503)
            failures.push(
              `${method} ${path}?${qs} (${who}, ${ctype}) body=${payload.slice(0, 200)} → ${res.status}`,
            )
          return true
        },
      ),
      {
        numRuns: Math.min(1000, routes.length * 20),
        seed: Number(process.env.FUZZ_SEED ?? Date.now() % 1e9),
      },
    )
    // Every failing input is listed (not only the first), with its route.
    expect(failures).toEqual([])
  })

  it('never writes a credential or a query string into the logs', () => {
    expect(lines.length).toBeGreaterThan(100)
    const secrets = [
      ...Object.values(creds).flatMap((h) =>
        Object.values(h).map((v) => v.replace(/^Bearer |^pp_session=/, '')),
      ),
      widgetSecret,
      'fuzz-client-secret',
    ].filter((s) => s.length > 12)
    for (const line of lines) {
      for (const s of secrets) expect(line).not.toContain(s)
      const rec = JSON.parse(line) as { path?: string }
      if (rec.path) expect(rec.path).not.toContain('?')
    }
  })
})
