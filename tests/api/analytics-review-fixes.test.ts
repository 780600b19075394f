import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql, type SQL } from 'drizzle-orm'
import { PgDialect } from 'drizzle-orm/pg-core'
import { query, type Database } from '../../api/src/db/client'
import { takeSnapshot } from '../../api/src/analytics/snapshot'
import { markRollupsBehind, rollupBehind } from '../../api/src/analytics/rollup'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { createTestApp } from '../helpers/app'
import { asUser } from '../helpers/auth'
import { copySeededOrg, seedOrg, type SeedResult } from '../helpers/seed'
import { setDeals } from './analytics-mini-org'

/*
 * Review findings on the analytics, each checked as a user of the API sees it: a figure, a bucket,
 * a status code and the error envelope.
 */

type Res = { status: number; body: any; text: string }

describe(`analytics review fixes (${testDbKind})`, () => {
  let database: Database
  let seed: SeedResult
  let app: ReturnType<typeof createTestApp>
  /** Set to make the CSV export's batch query fail, as a statement timeout or lost connection would. */
  let failExport = false

  const get = async (path: string, userId = seed.users.admin, orgId = seed.orgId): Promise<Res> => {
    const res = await app.app.request(`/api/v1${path}`, { headers: await asUser(app.config, orgId, userId) })
    const text = await res.text()
    let body: any = text
    try {
      body = JSON.parse(text)
    } catch {
      // CSV
    }
    return { status: res.status, body, text }
  }
  const expect400 = (r: Res, code: string, what: string) => {
    expect(r.status, what).toBe(400)
    expect(r.body.error, what).toMatchObject({
      code,
      message: expect.any(String),
      requestId: expect.any(String),
    })
  }

  beforeAll(async () => {
    database = await createTestDatabase()
    seed = await seedOrg(database.db)
    const dialect = new PgDialect()
    const db = new Proxy(database.db, {
      get(target, prop) {
        if (prop === 'execute')
          return (q: SQL) =>
            failExport && dialect.sqlToQuery(q).sql.includes('d.fx_source')
              ? Promise.reject(new Error('canceling statement due to statement timeout'))
              : target.execute(q)
        const v = Reflect.get(target, prop, target)
        return typeof v === 'function' ? v.bind(target) : v
      },
    })
    app = createTestApp({ ...database, db }, {}, { now: () => seed.now })
  })
  afterAll(() => database.close())

  it('forecast: targets follow the team filter, as an owner filter on the same people does', async () => {
    // Team "Sales Manager B" (9000003) = Max Manager and Rosa Rep; only Rosa has a Q3 target.
    const team = await get('/forecast?period=quarter&from=2026-10-01&to=2026-12-31&team=9000003')
    const owners = await get(
      `/forecast?period=quarter&from=2026-10-01&to=2026-12-31&owner=${seed.users.otherManager},${seed.users.otherRep}`,
    )
    expect(team.status).toBe(200)
    expect(team.body.buckets[0].total).toEqual(owners.body.buckets[0].total)
    expect(team.body.buckets[0].target).toBe('180000.50')
    expect(team.body.buckets[0]).toMatchObject({
      target: owners.body.buckets[0].target,
      coverage: owners.body.buckets[0].coverage,
    })
  })

  it('forecast: a month bucket carries only the targets whose period lies inside it', async () => {
    // Targets: 250,000 and 180,000.50 for Oct-Dec (quarterly), 90,000 for November.
    const m = await get('/forecast?period=month&from=2026-10-01&to=2026-12-31')
    expect(m.body.buckets.map((b: any) => [b.key, b.target])).toEqual([
      ['2026-10', null],
      ['2026-11', '90000.00'],
      ['2026-12', null],
    ])
    const q = await get('/forecast?period=quarter&from=2026-10-01&to=2026-12-31')
    expect(q.body.buckets[0].target).toBe('520000.50')
  })

  it('forecast: a range needing more than 240 buckets is a 400; a clipped bucket reports its real bounds', async () => {
    expect400(
      await get('/forecast?period=month&from=2006-01-01&to=2027-03-31'),
      'RANGE_TOO_LARGE',
      '>240 months',
    )
    const max = await get('/forecast?period=month&from=2007-04-01&to=2027-03-31')
    expect(max.status).toBe(200)
    expect(max.body.buckets.length).toBe(240)
    expect(max.body.buckets.at(-1)).toMatchObject({ key: '2027-03', from: '2027-03-01', to: '2027-03-31' })

    // From mid-quarter: the bucket says what it counts.
    const mid = await get('/forecast?period=quarter&from=2026-11-15&to=2026-12-31')
    expect(mid.body.buckets.map((b: any) => [b.key, b.from, b.to])).toEqual([
      ['FY2026 Q3', '2026-11-15', '2026-12-31'],
    ])
    const [n] = await query<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from deals where org_id = ${seed.orgId} and state in ('open', 'won')
            and closing_date between '2026-11-15' and '2026-12-31'`,
    )
    expect(mid.body.buckets[0].total.count).toBe(n!.n)
    // The November target (1-30 Nov) is not inside 15 Nov - 31 Dec.
    expect(mid.body.buckets[0].target).toBe(null)
  })

  it('"as of" a day without a snapshot is a 400 naming the nearest snapshotted days', async () => {
    // Snapshots: 2026-11-01, -08, -15, -25.
    const s = await get('/pipeline/summary?asOf=2026-11-20')
    expect400(s, 'NO_SNAPSHOT', 'summary asOf')
    expect(s.body.error.message).toContain('2026-11-15')
    expect(s.body.error.message).toContain('2026-11-25')
    const w = await get('/waterfall?from=2026-11-01&to=2026-11-22&closeFrom=2026-10-01&closeTo=2026-12-31')
    expect400(w, 'NO_SNAPSHOT', 'waterfall B')
    expect(w.body.error.message).toContain('2026-11-22')
    expect400(await get('/waterfall?from=2026-11-20&to=2026-11-25'), 'NO_SNAPSHOT', 'waterfall A')
    // Snapshotted days still answer, labelled with their own day.
    const ok = await get('/pipeline/summary?asOf=2026-11-15')
    expect(ok.status).toBe(200)
    expect(ok.body.snapshotDay).toBe('2026-11-15')
  })

  it('dates PostgreSQL cannot take are 400s, not 500s; the supported range still answers', async () => {
    for (const p of [
      '/pipeline/summary?from=0000-01-01&to=2026-12-31',
      '/pipeline/summary?closeFrom=0000-01-01',
      '/forecast?from=0000-01-01&to=2026-12-31',
      '/forecast?from=9999-11-01&to=9999-12-31',
      '/trend?closeFrom=0000-01-01',
      '/risk?closeFrom=0000-01-01',
      '/deals?closeFrom=0000-01-01',
      '/quality?closeFrom=0000-01-01',
      '/exports/deals.csv?closeFrom=0000-01-01',
      '/waterfall?from=2026-11-01&to=2026-11-25&closeFrom=0000-01-01&closeTo=2026-12-31',
      '/pipeline/summary?asOf=0000-01-01',
    ])
      expect400(await get(p), 'INVALID_INPUT', p)
    for (const p of [
      '/forecast?period=month&from=9998-12-01&to=9998-12-31',
      '/forecast?period=quarter&from=1900-01-01&to=1900-12-31',
      '/pipeline/summary?from=9998-12-01&to=9998-12-31',
    ])
      expect((await get(p)).status, p).toBe(200)
  })

  it('a CSV export whose query fails is a JSON error, not a 200 with only the header', async () => {
    failExport = true
    try {
      const r = await get('/exports/deals.csv')
      expect(r.status).toBe(500)
      expect(r.body.error).toMatchObject({ code: 'INTERNAL', requestId: expect.any(String) })
    } finally {
      failExport = false
    }
    const ok = await get('/exports/deals.csv')
    expect(ok.status).toBe(200)
    expect(ok.text.split('\r\n').filter(Boolean).length).toBeGreaterThan(1)
  })

  it('forged /deals cursors are 400s with the error envelope; issued cursors still work', async () => {
    const cursor = (key: string, id = '1') => Buffer.from(JSON.stringify([key, id])).toString('base64url')
    for (const [sort, key, id] of [
      ['closingDate', '2026-02-30', '1'],
      ['closingDate', '0000-01-01', '1'],
      ['modified', '1', '1'],
      ['modified', '2026-11-01 25:00:00+00', '1'],
      ['name', 'a\u0000', '1'],
      ['stage', 'x', 'a\u0000'],
      ['amount', '1e5', '1'],
    ] as const)
      expect400(await get(`/deals?sort=${sort}&cursor=${cursor(key, id)}`), 'INVALID_INPUT', `${sort} ${key}`)
    // The key of a deal without a closing date sorts as 9999-12-31: a cursor the API itself issues.
    expect((await get(`/deals?sort=closingDate&cursor=${cursor('9999-12-31')}`)).status).toBe(200)
    for (const sort of ['modified', 'closingDate', 'amount', 'name', 'stage']) {
      const first = await get(`/deals?sort=${sort}&limit=3`)
      const next = await get(`/deals?sort=${sort}&limit=3&cursor=${first.body.nextCursor}`)
      expect(next.status, sort).toBe(200)
      expect(next.body.deals.length, sort).toBe(3)
    }
  })

  it('waterfall: a deal open outside T at A, then won or lost inside T by B, is Pulled in then Won/Lost', async () => {
    const org = '7000000000000000098'
    await copySeededOrg(database.db, org, seed.orgId)
    const A = '2026-11-01'
    const B = '2026-11-25'
    await setDeals(database.db, org, [
      { id: '1', stage: 'Qualification', amount: '800', close: '2027-02-01' },
      { id: '2', stage: 'Qualification', amount: '100', close: '2026-12-15' },
      { id: '3', stage: 'Closed Lost', amount: '50', close: '2026-11-10' },
      { id: '4', stage: 'Qualification', amount: '300', close: '2027-02-01' },
      { id: '5', stage: 'Qualification', amount: '70', close: '2027-03-01' },
    ])
    await takeSnapshot(database.db, org, A)
    await setDeals(database.db, org, [
      { id: '1', stage: 'Closed Won', amount: '800', close: '2026-11-14' }, // closed inside T: won
      { id: '2', stage: 'Qualification', amount: '100', close: '2026-12-15' },
      { id: '3', stage: 'Closed Lost', amount: '50', close: '2026-11-10' }, // lost before A: no move
      { id: '4', stage: 'Closed Lost', amount: '300', close: '2026-11-20' }, // closed inside T: lost
      { id: '5', stage: 'Qualification', amount: '70', close: '2027-03-01' },
    ])
    await takeSnapshot(database.db, org, B)
    const r = await get(
      `/waterfall?from=${A}&to=${B}&closeFrom=2026-10-01&closeTo=2026-12-31&limit=50`,
      seed.users.admin,
      org,
    )
    expect(r.status).toBe(200)
    const moved = Object.fromEntries(
      r.body.buckets
        .filter((b: any) => b.count > 0)
        .map((b: any) => [b.bucket, b.deals.map((d: any) => `${d.id}:${d.amount}`).sort()]),
    )
    expect(moved).toEqual({ 'Pulled in': ['1:800.00', '4:300.00'], Won: ['1:800.00'], Lost: ['4:300.00'] })
    expect(r.body.start).toEqual({ count: 1, amount: '100.00' })
    expect(r.body.end).toEqual({ count: 1, amount: '100.00' })
    expect(r.body.balance).toMatchObject({ holds: true, computedEnd: '100.00', end: '100.00' })
  })

  // These change the seeded org's deals: they run last.
  it('a Zoho Watch delete is a hint: no figure changes on the callback’s word alone', async () => {
    const [deal] = await query<{ id: string }>(
      database.db,
      sql`select id from deals where org_id = ${seed.orgId} and state = 'open' and amount_sgd > 0
            and closing_date between '2026-11-01' and '2026-11-30' order by id limit 1`,
    )
    await database.db.execute(sql`insert into watch_channels (channel_id, org_id, token, expires_at)
      values ('1000000068099', ${seed.orgId}, 'tok-secret', now() + interval '1 day')`)
    // Whole November (answered from the month rollup) and the same deals by a month-cutting period.
    const whole = '/pipeline/summary?from=2026-11-01&to=2026-11-30&closeFrom=2026-11-01&closeTo=2026-11-30'
    const cut = '/pipeline/summary?from=2026-11-01&to=2026-11-30&closeFrom=2026-10-31&closeTo=2026-11-30'
    const before = (await get(whole)).body.open
    const res = await app.app.request('/api/v1/zoho/notify', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        channel_id: '1000000068099',
        token: 'tok-secret',
        module: 'Deals',
        operation: 'delete',
        ids: [deal!.id],
      }),
    })
    expect(res.status).toBe(202)
    // The delete only queues an ids run, which removes a deal when Zoho no longer returns it
    // (tests/sync/notify-hints.test.ts); this org has no reachable Zoho, so nothing is confirmed.
    await app.settle()
    const right = (await get(whole)).body.open
    expect(right).toEqual(before)
    expect(right).toEqual((await get(cut)).body.open)
  })

  it('markRollupsBehind: reads fall back to the deals table and the next refresh is due', async () => {
    const whole = '/pipeline/summary?from=2026-12-01&to=2026-12-31&closeFrom=2026-12-01&closeTo=2026-12-31'
    const [deal] = await query<{ id: string }>(
      database.db,
      sql`select id from deals where org_id = ${seed.orgId} and state = 'open' and amount_sgd > 0
            and closing_date between '2026-12-01' and '2026-12-31' order by id limit 1`,
    )
    // The figures are served from a fresh rollup.
    const before = (await get(whole)).body.open
    expect(await rollupBehind(database.db, seed.orgId)).toBe(false)
    // A writer that does not refresh the rollups (e.g. a sync run failing after writing pages).
    await database.db.execute(sql`delete from deals where org_id = ${seed.orgId} and id = ${deal!.id}`)
    await markRollupsBehind(database.db, seed.orgId)
    expect(await rollupBehind(database.db, seed.orgId)).toBe(true)
    expect((await get(whole)).body.open.count).toBe(before.count - 1)
    // Every org at once (repricing every org's open deals).
    await markRollupsBehind(database.db, null)
    const [n] = await query<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from analytics_rollup_state`,
    )
    expect(n!.n).toBe(0)
  })
})
