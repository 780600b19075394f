import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../api/src/db/client'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { createTestApp } from '../helpers/app'
import { asUser } from '../helpers/auth'
import { seedOrg, SNAPSHOT_DAYS, type SeedResult } from '../helpers/seed'

/*
 * Periods a user gives half of. The seeded org's fiscal year starts in April and its today is
 * 2026-11-26: the current fiscal quarter is 2026-10-01..2026-12-31 (FY2026 Q3), the current fiscal
 * year 2026-04-01..2027-03-31, and the newest snapshot is of 2026-11-25.
 */

type Res = { status: number; body: any }

describe(`analytics: periods from one bound, and the trend's default window (${testDbKind})`, () => {
  let database: Database
  let seed: SeedResult
  let app: ReturnType<typeof createTestApp>

  const get = async (path: string): Promise<Res> => {
    const res = await app.app.request(`/api/v1${path}`, {
      headers: await asUser(app.config, seed.orgId, seed.users.admin),
    })
    return { status: res.status, body: await res.json() }
  }

  beforeAll(async () => {
    database = await createTestDatabase()
    seed = await seedOrg(database.db)
    app = createTestApp(database, {}, { now: () => seed.now })
  })
  afterAll(() => database.close())

  it('a lone from after the current quarter reports through the end of its own fiscal quarter', async () => {
    const summary = await get('/pipeline/summary?from=2027-01-15')
    expect(summary.status, JSON.stringify(summary.body)).toBe(200)
    expect(summary.body.period).toEqual({ from: '2027-01-15', to: '2027-03-31' })
    // Within or before the current quarter, a lone from still runs to the current quarter's end.
    expect((await get('/pipeline/summary?from=2026-07-01')).body.period).toEqual({
      from: '2026-07-01',
      to: '2026-12-31',
    })
    const funnel = await get('/funnel?from=2027-04-01')
    expect(funnel.status).toBe(200)
    expect(funnel.body.period).toEqual({ from: '2027-04-01', to: '2027-06-30' })
  })

  it('a lone to before the current quarter reports from the start of its own fiscal quarter', async () => {
    const byStage = await get('/pipeline/by-stage?to=2026-08-15')
    expect(byStage.status, JSON.stringify(byStage.body)).toBe(200)
    expect(byStage.body.period).toEqual({ from: '2026-07-01', to: '2026-08-15' })
  })

  it('from after to, both sent, is a 400 that names both values', async () => {
    const r = await get('/pipeline/summary?from=2027-02-01&to=2027-01-01')
    expect(r.status).toBe(400)
    expect(r.body.error.code).toBe('INVALID_INPUT')
    expect(r.body.error.message).toContain('from (2027-02-01) is after to (2027-01-01)')
    for (const path of ['/forecast?from=2027-02-01&to=2027-01-01', '/trend?from=2026-11-20&to=2026-11-10']) {
      const e = await get(path)
      expect(e.status, path).toBe(400)
      expect(e.body.error.message, path).toMatch(/^from \(\d{4}-\d\d-\d\d\) is after to \(\d{4}-\d\d-\d\d\)/)
    }
  })

  it("the waterfall's window: a lone closeFrom takes its quarter; an inverted one names closeFrom", async () => {
    const [a, b] = [SNAPSHOT_DAYS[0], SNAPSHOT_DAYS.at(-1)]
    const w = await get(`/waterfall?from=${a}&to=${b}&closeFrom=2027-02-01`)
    expect(w.status, JSON.stringify(w.body)).toBe(200)
    expect(w.body.window).toEqual({ from: '2027-02-01', to: '2027-03-31' })
    const e = await get(`/waterfall?from=${a}&to=${b}&closeFrom=2027-02-01&closeTo=2027-01-01`)
    expect(e.status).toBe(400)
    expect(e.body.error.message).toContain('closeFrom (2027-02-01) is after closeTo (2027-01-01)')
  })

  it('a lone from after the current fiscal year forecasts the fiscal year around it', async () => {
    const r = await get('/forecast?period=quarter&from=2027-06-01')
    expect(r.status).toBe(200)
    expect([r.body.from, r.body.to]).toEqual(['2027-06-01', '2028-03-31'])
    expect(r.body.buckets.map((b: any) => [b.key, b.from, b.to])).toEqual([
      ['FY2027 Q1', '2027-06-01', '2027-06-30'],
      ['FY2027 Q2', '2027-07-01', '2027-09-30'],
      ['FY2027 Q3', '2027-10-01', '2027-12-31'],
      ['FY2027 Q4', '2028-01-01', '2028-03-31'],
    ])
    // A lone to before the fiscal year starts with that to's fiscal year.
    const early = await get('/forecast?period=quarter&to=2026-02-15')
    expect([early.body.from, early.body.to]).toEqual(['2025-04-01', '2026-02-15'])
    expect(early.body.buckets).toHaveLength(4)
  })

  it('trend: from defaults to 90 days before to, as documented; a lone later from is not inverted', async () => {
    const newest = SNAPSHOT_DAYS.at(-1)!
    const dflt = await get('/trend')
    expect([dflt.body.from, dflt.body.to]).toEqual(['2026-08-27', newest])
    expect(dflt.body.points.map((p: any) => p.day)).toEqual(SNAPSHOT_DAYS)
    const upTo = await get('/trend?to=2026-11-08')
    expect([upTo.body.from, upTo.body.to]).toEqual(['2026-08-10', '2026-11-08'])
    const doc = (await (await app.app.request('/api/v1/openapi.json')).json()) as any
    const params = doc.paths['/trend'].get.parameters as { name: string; description?: string }[]
    const from = params.find((p) => p.name === 'from')!
    expect(from.description).toContain('90 days before `to`')
    expect(from.description).not.toContain('today')
    // A lone from after the newest snapshot: an empty trend over from..from, never to < from.
    const later = await get('/trend?from=2026-12-10')
    expect(later.status).toBe(200)
    expect(later.body).toMatchObject({ from: '2026-12-10', to: '2026-12-10', points: [] })
  })
})
