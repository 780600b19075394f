import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../api/src/db/client'
import { takeSnapshot } from '../../api/src/analytics/snapshot'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { createTestApp } from '../helpers/app'
import { asUser } from '../helpers/auth'
import { copySeededOrg, seedOrg, type SeedResult } from '../helpers/seed'
import { addHistory, setDeals } from './analytics-mini-org'

/*
 * Stage history with consecutive rows of the same stage (Zoho records a Stage_History row when the
 * Amount or Closing_Date changes; a row may carry the display value, the next the actual value), and
 * the waterfall's Created/Pulled in split, each checked on hand-built orgs as the API reports them.
 * The app's clock is the seed's: 2026-11-26 14:00 in Singapore.
 */

describe(`analytics: stage runs and waterfall entries (${testDbKind})`, () => {
  let database: Database
  let seed: SeedResult
  let app: ReturnType<typeof createTestApp>

  const get = async (path: string, orgId: string) => {
    const res = await app.app.request(`/api/v1${path}`, {
      headers: await asUser(app.config, orgId, seed.users.admin),
    })
    return { status: res.status, body: (await res.json()) as any }
  }

  beforeAll(async () => {
    database = await createTestDatabase()
    seed = await seedOrg(database.db)
    app = createTestApp(database, {}, { now: () => seed.now })
  })
  afterAll(() => database.close())

  it('time in stage: consecutive rows of the same stage are one stay, left once', async () => {
    const org = '7000000000000000097'
    await copySeededOrg(database.db, org, seed.orgId)
    await setDeals(database.db, org, [
      { id: '1', stage: 'Needs Analysis', entered: '2026-10-21T02:00:00Z' },
      { id: '2', stage: 'Negotiation/Review', entered: '2026-10-31T02:00:00Z' },
      // No stage_entered_at: "so far" runs from the first row of its last run of history.
      { id: '3', stage: 'Value Proposition', entered: null },
    ])
    await addHistory(database.db, org, [
      ['1', 'Qualification', '2026-10-01T02:00:00Z'],
      ['1', 'Qualification', '2026-10-11T02:00:00Z'], // amount edited: still Qualification
      ['1', 'Needs Analysis', '2026-10-21T02:00:00Z'],
      ['2', 'Proposal/Price Quote', '2026-10-01T02:00:00Z'],
      ['2', 'Proposal', '2026-10-11T02:00:00Z'], // the same stage by its actual value
      ['2', 'Negotiation/Review', '2026-10-31T02:00:00Z'],
      ['3', 'Value Proposition', '2026-11-06T06:00:00Z'],
      ['3', 'Value Proposition', '2026-11-16T06:00:00Z'],
    ])
    const r = await get('/time-in-stage?from=2026-10-01&to=2026-11-26', org)
    expect(r.status).toBe(200)
    const by = Object.fromEntries(r.body.stages.map((s: any) => [s.stage, s]))
    expect(by['Qualification'].left).toEqual({ count: 1, averageDays: 20 })
    expect(by['Proposal/Price Quote'].left).toEqual({ count: 1, averageDays: 30 })
    expect(by['Value Proposition']).toMatchObject({
      left: { count: 0, averageDays: null },
      current: { count: 1, averageDaysSoFar: 20 },
    })
  })

  it('stuck: the default threshold is twice the median of whole stays, not of split rows', async () => {
    const org = '7000000000000000096'
    await copySeededOrg(database.db, org, seed.orgId)
    await setDeals(database.db, org, [
      { id: 'w1', stage: 'Closed Won', entered: '2026-09-01T02:00:00Z' },
      { id: 'w2', stage: 'Closed Won', entered: '2026-09-01T02:00:00Z' },
      { id: 'w3', stage: 'Closed Won', entered: '2026-09-01T02:00:00Z' },
      // 45 days in Qualification (since 2026-10-12): under the 60-day threshold.
      { id: 'o1', stage: 'Qualification', entered: '2026-10-12T02:00:00Z' },
    ])
    // Each won deal spent 30 days in Qualification, with a same-stage row half way.
    await addHistory(
      database.db,
      org,
      ['w1', 'w2', 'w3'].flatMap((id) => [
        [id, 'Qualification', '2026-08-02T02:00:00Z'],
        [id, 'Qualification', '2026-08-17T02:00:00Z'],
        [id, 'Closed Won', '2026-09-01T02:00:00Z'],
      ]),
    )
    const r = await get('/risk?limit=100', org)
    expect(r.status).toBe(200)
    expect(r.body.thresholds.find((t: any) => t.stage === 'Qualification')).toEqual({
      stage: 'Qualification',
      days: 60,
      source: 'default',
    })
    expect(r.body.counts.stuck).toBe(0)
    expect(r.body.deals).toEqual([])

    // The medians are kept between requests; new history rows change them at once. w1 and w2 went
    // to Needs Analysis on day 10 and back on day 15: Qualification stays of 10, 15, 10, 15 and 30
    // days, median 15, threshold 30, so o1's 45 days are now stuck.
    await addHistory(database.db, org, [
      ['w1', 'Needs Analysis', '2026-08-12T02:00:00Z'],
      ['w2', 'Needs Analysis', '2026-08-12T02:00:00Z'],
    ])
    const again = await get('/risk?limit=100', org)
    expect(again.body.thresholds.find((t: any) => t.stage === 'Qualification')).toMatchObject({ days: 30 })
    expect(again.body.counts.stuck).toBe(1)
    expect(again.body.deals.map((d: any) => d.id)).toEqual(['o1'])
  })

  it('waterfall: Created is by created date after A; a deal older than A missing from S1 is Pulled in', async () => {
    const org = '7000000000000000095'
    await copySeededOrg(database.db, org, seed.orgId)
    const A = '2026-11-01'
    const B = '2026-11-25'
    await setDeals(database.db, org, [{ id: '1', stage: 'Qualification', amount: '100' }])
    await takeSnapshot(database.db, org, A)
    // Deals 2 and 4 existed before A but were first synced after A's snapshot; 3 was created after A.
    await setDeals(database.db, org, [
      { id: '1', stage: 'Qualification', amount: '100' },
      { id: '2', stage: 'Qualification', amount: '200', created: '2026-03-01T02:00:00Z' },
      { id: '3', stage: 'Qualification', amount: '300', created: '2026-11-10T02:00:00Z' },
      { id: '4', stage: 'Qualification', amount: '400', created: '2026-02-01T02:00:00Z' },
    ])
    await takeSnapshot(database.db, org, '2026-11-15')
    await setDeals(database.db, org, [
      { id: '1', stage: 'Qualification', amount: '100' },
      { id: '2', stage: 'Qualification', amount: '200', created: '2026-03-01T02:00:00Z' },
      { id: '3', stage: 'Qualification', amount: '300', created: '2026-11-10T02:00:00Z' },
      { id: '4', stage: 'Closed Won', amount: '400', created: '2026-02-01T02:00:00Z', close: '2026-11-20' },
    ])
    await takeSnapshot(database.db, org, B)
    const r = await get(`/waterfall?from=${A}&to=${B}&closeFrom=2026-10-01&closeTo=2026-12-31&limit=50`, org)
    expect(r.status).toBe(200)
    const moved = Object.fromEntries(
      r.body.buckets
        .filter((b: any) => b.count > 0)
        .map((b: any) => [b.bucket, b.deals.map((d: any) => `${d.id}:${d.amount}`).sort()]),
    )
    expect(moved).toEqual({
      Created: ['3:300.00'],
      'Pulled in': ['2:200.00', '4:400.00'],
      Won: ['4:400.00'],
    })
    expect(r.body.start).toEqual({ count: 1, amount: '100.00' })
    expect(r.body.end).toEqual({ count: 3, amount: '600.00' })
    expect(r.body.balance).toMatchObject({ holds: true, computedEnd: '600.00', end: '600.00' })
  })
})
