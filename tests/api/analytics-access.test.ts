import { parseCsv } from '../helpers/csv'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query, type Database } from '../../api/src/db/client'
import { dealDetail, dealsResponse, EXPORT_COLUMNS } from '../../shared/contracts/deals'
import { settingsResponse } from '../../shared/contracts/settings'
import { runJob } from '../../api/src/jobs'
import { createLogger } from '../../api/src/observability/logger'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { createTestApp } from '../helpers/app'
import { asUser, asWidget } from '../helpers/auth'
import { loadOrgRows, seedOrg, visibleOwners, type OrgRows, type SeedResult } from '../helpers/seed'

/** Response bodies are checked field by field, so they are read untyped. */
type JsonResponse = Omit<Response, 'json'> & { json(): Promise<any> }

describe(`analytics access, deals, export, settings, docs (${testDbKind})`, () => {
  let database: Database
  let seed: SeedResult
  let rows: OrgRows
  let request: (path: string, userId?: string, init?: RequestInit) => Promise<JsonResponse>

  beforeAll(async () => {
    database = await createTestDatabase()
    seed = await seedOrg(database.db)
    rows = await loadOrgRows(database.db, seed.orgId)
    const { app, config } = createTestApp(database, {}, { now: () => seed.now })
    request = async (path, userId = seed.users.admin, init = {}) =>
      await app.request(`/api/v1${path}`, {
        ...init,
        headers: {
          ...(await asUser(config, seed.orgId, userId)),
          ...(init.headers as Record<string, string>),
        },
      })
  })
  afterAll(() => database.close())

  const idsFor = (user: string) => {
    const owners = visibleOwners(rows, user)
    return rows.deals
      .filter((d) => owners === null || owners.has(d.owner_id!))
      .map((d) => d.id)
      .sort()
  }

  async function allPages(path: string, user: string) {
    const ids: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res = await request(
        `${path}${path.includes('?') ? '&' : '?'}limit=37${cursor ? `&cursor=${cursor}` : ''}`,
        user,
      )
      expect(res.status).toBe(200)
      const body = dealsResponse.parse(await res.json())
      ids.push(...body.deals.map((d) => d.id))
      cursor = body.nextCursor
      pages++
    } while (cursor && pages < 50)
    return ids
  }

  it('visibility matrix: admin sees all, a manager own + subtree, a rep own deals, on every endpoint', async () => {
    const u = seed.users
    // The scope rule itself, on the seeded hierarchy.
    expect(visibleOwners(rows, u.admin)).toBeNull()
    expect([...visibleOwners(rows, u.rep)!]).toEqual([u.rep])
    expect(visibleOwners(rows, u.manager)!.size).toBe(4) // manager A, two reps and a deactivated rep
    for (const user of [u.admin, u.manager, u.rep]) {
      const expected = idsFor(user)
      const owners = visibleOwners(rows, user)
      const allowed = (o: string | null) => owners === null || owners.has(o!)
      expect((await allPages('/deals', user)).sort()).toEqual(expected)
      const csv = parseCsv(await (await request('/exports/deals.csv', user)).text())
      expect(
        csv
          .slice(1)
          .map((r) => r[0])
          .sort(),
      ).toEqual(expected)
      const summary = await (await request('/pipeline/summary?from=2020-01-01&to=2030-12-31', user)).json()
      const states = rows.deals.filter((d) => allowed(d.owner_id))
      expect(summary.open.count + summary.won.count + summary.lost.count).toBe(
        states.filter((d) => (d.state !== 'unknown' && d.closing_date !== null) || d.state === 'open').length,
      )
      const byOwner = await (await request('/pipeline/by-owner', user)).json()
      expect(byOwner.owners.every((o: { ownerId: string }) => allowed(o.ownerId))).toBe(true)
      const risk = await (await request('/risk?limit=1000', user)).json()
      expect(risk.deals.every((d: { ownerId: string }) => allowed(d.ownerId))).toBe(true)
      const quality = await (await request('/quality?limit=1000', user)).json()
      for (const k of ['unpriced', 'pastDue', 'missingAmount', 'unknownStage'])
        expect(quality[k].deals.every((d: { ownerId: string }) => allowed(d.ownerId))).toBe(true)
      const funnel = await (await request('/funnel?from=2020-01-01&to=2030-12-31', user)).json()
      expect(funnel.cohort).toBe(expected.length)
      const trend = await (await request('/trend?from=2026-11-25&to=2026-11-25', user)).json()
      const openAt = rows.snapshots.filter(
        (s) =>
          s.valid_from <= '2026-11-25' &&
          (s.valid_to ?? '9999') > '2026-11-25' &&
          s.state === 'open' &&
          allowed(s.owner_id),
      )
      expect(trend.points[0].count).toBe(openAt.length)
      for (const path of [
        '/forecast',
        '/time-in-stage',
        '/velocity',
        '/waterfall?from=2026-11-01&to=2026-11-25',
      ])
        expect((await request(path, user)).status, path).toBe(200)
    }
    // The rep's view is strictly smaller than the manager's, which is smaller than the admin's.
    expect(idsFor(u.rep).length).toBeLessThan(idsFor(u.manager).length)
    expect(idsFor(u.manager).length).toBeLessThan(idsFor(u.admin).length)
  })

  it('a deal outside scope is a 404; an owner filter outside scope is a 403, export included', async () => {
    const foreign = rows.deals.find((d) => d.owner_id === seed.users.otherRep)!
    const own = rows.deals.find((d) => d.owner_id === seed.users.rep)!
    expect((await request(`/deals/${foreign.id}`, seed.users.rep)).status).toBe(404)
    expect((await request(`/deals/${foreign.id}`, seed.users.manager)).status).toBe(404)
    expect((await request(`/deals/${foreign.id}`, seed.users.admin)).status).toBe(200)
    expect((await request(`/deals/${own.id}`, seed.users.manager)).status).toBe(200)
    for (const path of [
      '/exports/deals.csv',
      '/pipeline/summary',
      '/deals',
      '/risk',
      '/waterfall?from=2026-11-01&to=2026-11-25',
    ]) {
      const sep = path.includes('?') ? '&' : '?'
      const res = await request(`${path}${sep}owner=${seed.users.otherRep}`, seed.users.rep)
      expect(res.status, path).toBe(403)
      const body = await res.json()
      expect(body.error.code).toBe('FORBIDDEN')
    }
    // No session: 401 with the envelope.
    const { app } = createTestApp(database, {}, { now: () => seed.now })
    const anon: JsonResponse = await app.request('/api/v1/pipeline/summary')
    expect(anon.status).toBe(401)
    expect((await anon.json()).error.code).toBe('UNAUTHENTICATED')
  })

  it('the widget bearer token sees the same figures as the session cookie', async () => {
    const { app, config } = createTestApp(database, {}, { now: () => seed.now })
    const viaWidget: JsonResponse = await app.request('/api/v1/pipeline/summary', {
      headers: await asWidget(config, seed.orgId, seed.users.rep),
    })
    expect(await viaWidget.json()).toEqual(await (await request('/pipeline/summary', seed.users.rep)).json())
  })

  it('deal detail carries stage history, FX provenance and its Zoho link', async () => {
    const deal = rows.deals.find(
      (d) => d.currency === 'EUR' && rows.history.filter((h) => h.deal_id === d.id).length > 2,
    )!
    const res = await request(`/deals/${deal.id}`)
    const body = dealDetail.parse(await res.json())
    expect(body).toMatchObject({
      id: deal.id,
      currency: 'EUR',
      amount: deal.amount,
      amountSgd: deal.amount_sgd,
      fx: { rate: '1.45675', date: '2026-11-23', source: 'provider', estimated: false },
      zohoUrl: `https://crm.zoho.com/crm/org${seed.orgId}/tab/Potentials/${deal.id}`,
    })
    const history = rows.history
      .filter((h) => h.deal_id === deal.id)
      .sort((a, b) => a.entered_at.localeCompare(b.entered_at))
    // One entry per stay, by display value (whichever value Zoho's history row carries).
    const display = (s: string) =>
      rows.stages.find((x) => x.display_value === s || x.actual_value === s)?.display_value ?? s
    const stays = history
      .map((h) => display(h.stage))
      .filter((stage, i, all) => i === 0 || all[i - 1] !== stage)
    expect(body.stageHistory.map((h) => h.stage)).toEqual(stays)
    expect(
      body.stageHistory.slice(0, -1).every((h, i) => h.leftAt === body.stageHistory[i + 1]!.enteredAt),
    ).toBe(true)
    expect(body.stageHistory.at(-1)!.leftAt).toBeNull()
    // With a custom Zoho domain name, links use it.
    await database.db.execute(
      sql`update orgs set domain_name = 'acmecorp', crm_host = 'https://crm.zoho.eu' where id = ${seed.orgId}`,
    )
    try {
      const again = await (await request(`/deals/${deal.id}`)).json()
      expect(again.zohoUrl).toBe(`https://crm.zoho.eu/crm/acmecorp/tab/Potentials/${deal.id}`)
    } finally {
      await database.db.execute(
        sql`update orgs set domain_name = null, crm_host = 'https://crm.zoho.com' where id = ${seed.orgId}`,
      )
    }
  })

  it('deals list: every sort pages through all deals once, in order, with an opaque cursor', async () => {
    const cmp = {
      closingDate: (d: OrgRows['deals'][number]) => d.closing_date ?? '9999-12-31',
      name: (d: OrgRows['deals'][number]) => d.name,
    }
    for (const dir of ['asc', 'desc'] as const) {
      const ids = await allPages(`/deals?sort=closingDate&dir=${dir}`, seed.users.admin)
      expect(new Set(ids).size).toBe(rows.deals.length)
      const keys = ids.map((id) => cmp.closingDate(rows.deals.find((d) => d.id === id)!))
      const sorted = [...keys].sort()
      expect(keys).toEqual(dir === 'asc' ? sorted : sorted.reverse())
    }
    for (const sort of ['amount', 'name', 'stage', 'modified']) {
      const ids = await allPages(`/deals?sort=${sort}&dir=desc`, seed.users.manager)
      expect(ids.length, sort).toBe(idsFor(seed.users.manager).length)
      expect(new Set(ids).size, sort).toBe(ids.length)
    }
    const amounts = (await allPages('/deals?sort=amount&state=open', seed.users.admin)).map(
      (id) => rows.deals.find((d) => d.id === id)!.amount_sgd,
    )
    const asCents = amounts.map((a) => (a === null ? -1n : BigInt(a.replace('.', ''))))
    expect(asCents).toEqual([...asCents].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))
    const q = await (await request('/deals?q=quoted')).json()
    expect(q.deals.length).toBe(rows.deals.filter((d) => d.name.includes('quoted')).length)
  })

  it('CSV export: streamed, quoted, parses back to the same rows, audit-logged', async () => {
    const res = await request('/exports/deals.csv?currency=SGD,EUR,XTS', seed.users.admin)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/csv')
    expect(res.headers.get('content-disposition')).toContain('attachment')
    const text = await res.text()
    const [header, ...data] = parseCsv(text)
    expect(header).toEqual([...EXPORT_COLUMNS])
    const expected = rows.deals
      .filter((d) => ['SGD', 'EUR', 'XTS'].includes(d.currency))
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((d) => {
        const owner = rows.users.find((u) => u.id === d.owner_id)
        const rec: Record<string, unknown> = {
          ...d,
          owner_name: owner?.full_name ?? d.owner_name,
          probability: d.effective_probability,
          zoho_url: `https://crm.zoho.com/crm/org${seed.orgId}/tab/Potentials/${d.id}`,
        }
        return EXPORT_COLUMNS.map((c) => (rec[c] === null || rec[c] === undefined ? '' : String(rec[c])))
      })
    expect(data).toEqual(expected)
    // Names with commas, quotes and newlines survive; so does an owner name with quotes.
    expect(data.some((r) => r[1]!.includes('\n') && r[1]!.includes('"'))).toBe(true)
    const [audit] = await query<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from audit_log where org_id = ${seed.orgId} and action = 'export' and actor_user_id = ${seed.users.admin}`,
    )
    expect(audit!.n).toBeGreaterThan(0)
  })

  it('bad parameters are 400s with the error envelope, never 500s', async () => {
    const bad = [
      '/pipeline/summary?from=2026-13-01',
      '/pipeline/summary?from=2026-12-01&to=2026-11-01',
      '/pipeline/summary?asOf=yesterday',
      '/pipeline/summary?asOf=2026-10-01',
      '/pipeline/summary?asOf=2026-11-26',
      '/pipeline/summary?currency=usd',
      '/pipeline/summary?owner=abc',
      '/forecast?period=week',
      '/trend?from=2026-11-30&to=2026-11-01',
      '/waterfall',
      '/waterfall?from=2026-11-25&to=2026-11-01',
      '/waterfall?from=2025-01-01&to=2026-11-25',
      '/waterfall?from=2026-11-01&to=2026-11-25&limit=-1',
      '/deals?sort=owner',
      '/deals?limit=100000',
      '/deals?cursor=not-a-cursor',
      `/deals?sort=amount&cursor=${Buffer.from(JSON.stringify(['x; drop table deals', '1'])).toString('base64url')}`,
      '/deals/not-an-id',
      '/risk?reason=sleepy',
      '/quality?limit=lots',
    ]
    for (const path of bad) {
      const res = await request(path)
      expect(res.status, path).toBe(400)
      const body = await res.json()
      expect(body.error, path).toMatchObject({ code: expect.any(String), message: expect.any(String) })
      expect(body.error.requestId, path).toBe(res.headers.get('x-request-id'))
    }
  })

  it('settings: admin only, validated, change the risk thresholds and the fiscal year', async () => {
    expect((await request('/settings', seed.users.rep)).status).toBe(403)
    expect((await request('/settings', seed.users.manager)).status).toBe(403)
    const before = settingsResponse.parse(await (await request('/settings')).json())
    expect(before).toMatchObject({ fiscalYearStartMonth: 4, quietDays: 30, staleDaysByStage: {} })
    const put = (body: unknown, user = seed.users.admin) =>
      request('/settings', user, {
        method: 'PUT',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' },
      })
    for (const body of [
      { quietDays: 0 },
      { fiscalYearStartMonth: 13 },
      { staleDaysByStage: { 'No Such Stage': 5 } },
      { other: 1 },
    ])
      expect((await put(body)).status, JSON.stringify(body)).toBe(400)
    expect((await put({ quietDays: 10 }, seed.users.manager)).status).toBe(403)
    const riskBefore = await (await request('/risk?limit=1000')).json()
    const res = await put({
      quietDays: 3650,
      staleDaysByStage: { Qualification: 3000 },
      fiscalYearStartMonth: 1,
    })
    expect(res.status).toBe(200)
    const after = settingsResponse.parse(await res.json())
    expect(after.thresholds.find((t) => t.stage === 'Qualification')).toMatchObject({
      days: 3000,
      source: 'setting',
    })
    const riskAfter = await (await request('/risk?limit=1000')).json()
    expect(riskAfter.counts.quiet).toBe(0)
    expect(
      riskAfter.deals.some(
        (d: { stage: string; reasons: { code: string }[] }) =>
          d.stage === 'Qualification' && d.reasons.some((r) => r.code === 'stuck'),
      ),
    ).toBe(false)
    expect(riskBefore.counts.quiet).toBeGreaterThan(0)
    // Calendar fiscal year: the default period is now the calendar quarter.
    const summary = await (await request('/pipeline/summary')).json()
    expect(summary.period).toEqual({ from: '2026-10-01', to: '2026-12-31' })
    const forecast = await (await request('/forecast')).json()
    expect(forecast.from).toBe('2026-01-01')
    // null returns a stage to its default.
    const reset = settingsResponse.parse(
      await (
        await put({ staleDaysByStage: { Qualification: null }, fiscalYearStartMonth: 4, quietDays: 30 })
      ).json(),
    )
    expect(reset.staleDaysByStage).toEqual({})
    const [audit] = await query<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from audit_log where action = 'settings.update'`,
    )
    expect(audit!.n).toBe(2)
  })

  it('OpenAPI document from the zod schemas, and an offline docs page', async () => {
    const { app } = createTestApp(database)
    const doc = await (await (app.request('/api/v1/openapi.json') as Promise<JsonResponse>)).json()
    expect(doc.openapi).toBe('3.1.0')
    for (const path of [
      '/pipeline/summary',
      '/pipeline/by-stage',
      '/pipeline/by-owner',
      '/forecast',
      '/trend',
      '/waterfall',
      '/funnel',
      '/time-in-stage',
      '/velocity',
      '/risk',
      '/quality',
      '/deals',
      '/deals/{id}',
      '/exports/deals.csv',
      '/settings',
    ])
      expect(doc.paths[path], path).toBeDefined()
    // The sync, FX and auth contracts are in the same document.
    for (const path of ['/sync', '/sync/status', '/fx/rates', '/auth/widget'])
      expect(doc.paths[path], path).toBeDefined()
    const summary = doc.paths['/pipeline/summary'].get
    expect(summary.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining([
        'from',
        'to',
        'asOf',
        'owner',
        'team',
        'stage',
        'currency',
        'territory',
        'pipeline',
        'closeFrom',
        'closeTo',
      ]),
    )
    const schema = summary.responses['200'].content['application/json'].schema
    expect(schema.required).toEqual(
      expect.arrayContaining(['currency', 'open', 'won', 'lost', 'byStage', 'unpriced', 'asOf']),
    )
    expect(doc.paths['/settings'].put.requestBody).toBeDefined()
    const html = await (await app.request('/api/v1/docs')).text()
    expect(html).toContain('<!doctype html>')
    expect(html).toContain('/api/v1/waterfall')
    expect(html).not.toMatch(/<script|<link|https?:\/\/(?!crm)/)
  })

  it('the snapshot job snapshots each org once its local day has ended', async () => {
    const logger = createLogger('silent')
    const ctx = (iso: string) => ({
      config: {} as never,
      db: database.db,
      logger,
      fetch: globalThis.fetch,
      now: () => new Date(iso),
    })
    // 23:30 on 26 Nov in Singapore: the 26th has not ended; the last snapshot is the 25th.
    expect(await runJob('snapshot', ctx('2026-11-26T15:30:00Z'))).toEqual({ orgs: 0, failed: 0 })
    // 00:10 on 27 Nov in Singapore: snapshot the 26th, once.
    expect(await runJob('snapshot', ctx('2026-11-26T16:10:00Z'))).toEqual({ orgs: 1, failed: 0 })
    expect(await runJob('snapshot', ctx('2026-11-26T17:10:00Z'))).toEqual({ orgs: 0, failed: 0 })
    const [state] = await query<{ day: string }>(
      database.db,
      sql`select last_snapshot_day::text as day from sync_state where org_id = ${seed.orgId}`,
    )
    expect(state!.day).toBe('2026-11-26')
    const trend = await (await request('/trend?from=2026-11-25&to=2026-11-26')).json()
    expect(trend.points.map((p: { day: string }) => p.day)).toEqual(['2026-11-25', '2026-11-26'])
    const open = rows.deals.filter((d) => d.state === 'open')
    expect(trend.points[1].count).toBe(open.length)
  })
})
