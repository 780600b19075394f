import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query, type Database } from '../../api/src/db/client'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { createTestApp } from '../helpers/app'
import { asUser } from '../helpers/auth'
import { copySeededOrg, seedOrg, type SeedResult } from '../helpers/seed'
import { addHistory, setDeals } from './analytics-mini-org'

/*
 * Days in a stage are calendar days in the org's time zone (METRICS: "Dates are calendar dates in the
 * org's time zone"), the same count in the time-in-stage report, the deal view, the risk list and the
 * stuck thresholds. The org is in New York, whose clocks went back on 2026-11-01; the app's clock is
 * 2026-11-26 06:00 UTC, 01:00 in New York: today is 2026-11-26 there.
 */

const ORG = '7000000000000000093'
const STUCK_ORG = '7000000000000000092'
const TZ = 'America/New_York'
const CURRENT = '9300000000000000001'
const LEFT = '9300000000000000002'

describe(`analytics: days are calendar days in the org's time zone (${testDbKind})`, () => {
  let database: Database
  let seed: SeedResult
  let app: ReturnType<typeof createTestApp>

  const get = async (path: string, orgId = ORG) => {
    const res = await app.app.request(`/api/v1${path}`, {
      headers: await asUser(app.config, orgId, seed.users.admin),
    })
    return { status: res.status, body: (await res.json()) as any }
  }

  beforeAll(async () => {
    database = await createTestDatabase()
    seed = await seedOrg(database.db)
    app = createTestApp(database, {}, { now: () => seed.now })
    for (const org of [ORG, STUCK_ORG]) {
      await copySeededOrg(database.db, org, seed.orgId)
      await database.db.execute(sql`update orgs set time_zone = ${TZ} where id = ${org}`)
    }
    await setDeals(database.db, ORG, [
      // In Qualification since 23:30 on 27 October in New York (03:30 UTC on the 28th): 30 days by
      // the calendar on 26 November, though only 29 days and 2.5 hours have elapsed.
      { id: CURRENT, stage: 'Qualification', entered: '2026-10-28T03:30:00Z' },
      // In Needs Analysis from 22:00 on 31 October (EDT) to 00:30 on 2 November (EST): two calendar
      // days, 27.5 hours across the change of the clocks.
      { id: LEFT, stage: 'Closed Won', entered: '2026-11-02T05:30:00Z', close: '2026-11-02' },
    ])
    await addHistory(database.db, ORG, [
      [CURRENT, 'Qualification', '2026-10-28T03:30:00Z'],
      [LEFT, 'Needs Analysis', '2026-11-01T02:00:00Z'],
      [LEFT, 'Closed Won', '2026-11-02T05:30:00Z'],
    ])
  })
  afterAll(() => database.close())

  it('time in stage counts calendar days, as the risk list does', async () => {
    const r = await get('/time-in-stage?from=2026-11-01&to=2026-11-26')
    expect(r.status).toBe(200)
    const by = Object.fromEntries(r.body.stages.map((s: any) => [s.stage, s]))
    expect(by['Needs Analysis'].left).toEqual({ count: 1, averageDays: 2 })
    expect(by['Qualification'].current).toEqual({ count: 1, averageDaysSoFar: 30 })
    const risk = await get(`/risk?dealId=${CURRENT}`)
    expect(risk.body.deals[0]).toMatchObject({ id: CURRENT, daysInStage: 30 })
    // The sales cycle counts calendar days too: created at 00:00 UTC on 1 January 2026, which is
    // 31 December 2025 in New York, and won on 2 November 2026.
    const summary = await get('/pipeline/summary?from=2026-11-01&to=2026-11-30')
    expect(summary.body).toMatchObject({ won: { count: 1 }, salesCycleDays: 306 })
  })

  it("a change of the org's time zone recounts the stays already kept", async () => {
    // Needs Analysis from 02:00 UTC on 1 November to 05:30 UTC on 2 November: 22:00 on 31 October
    // to 00:30 on 2 November in New York (2 days), 10:00 on 1 November to 13:30 on 2 November in
    // Singapore (1 day). The stays were kept in New York's zone; the org moves, and back.
    const leftNeedsAnalysis = async () => {
      const r = await get('/time-in-stage?from=2026-11-01&to=2026-11-26')
      expect(r.status).toBe(200)
      return r.body.stages.find((s: any) => s.stage === 'Needs Analysis').left
    }
    try {
      await database.db.execute(sql`update orgs set time_zone = 'Asia/Singapore' where id = ${ORG}`)
      expect(await leftNeedsAnalysis()).toEqual({ count: 1, averageDays: 1 })
    } finally {
      await database.db.execute(sql`update orgs set time_zone = ${TZ} where id = ${ORG}`)
    }
    expect(await leftNeedsAnalysis()).toEqual({ count: 1, averageDays: 2 })
  })

  it('a zone PostgreSQL does not know does not stop the history being written', async () => {
    // Counted in UTC until the zone is one it knows: 02:00 on 1 November to 05:30 on the 2nd.
    const deal = '9300000000000000003'
    try {
      await database.db.execute(sql`update orgs set time_zone = 'Atlantis/Poseidonis' where id = ${ORG}`)
      await addHistory(database.db, ORG, [
        [deal, 'Needs Analysis', '2026-11-01T02:00:00Z'],
        [deal, 'Closed Won', '2026-11-02T05:30:00Z'],
      ])
      const [stay] = await query<{ left_on: string; days: number }>(
        database.db,
        sql`select to_char(left_on, 'YYYY-MM-DD') as left_on, days from stage_stays
            where org_id = ${ORG} and deal_id = ${deal} and stage = 'Needs Analysis'`,
      )
      expect(stay).toEqual({ left_on: '2026-11-02', days: 1 })
    } finally {
      await database.db.execute(sql`delete from stage_history where org_id = ${ORG} and deal_id = ${deal}`)
      await database.db.execute(sql`update orgs set time_zone = ${TZ} where id = ${ORG}`)
    }
  })

  it("the deal view's days in stage and its stage history agree, in calendar days", async () => {
    const current = await get(`/deals/${CURRENT}`)
    expect(current.status).toBe(200)
    expect(current.body.daysInStage).toBe(30)
    expect(current.body.stageHistory.map((h: any) => [h.stage, h.days])).toEqual([['Qualification', 30]])
    const left = await get(`/deals/${LEFT}`)
    expect(left.body.stageHistory.map((h: any) => [h.stage, h.days])).toEqual([
      ['Needs Analysis', 2],
      ['Closed Won', 24],
    ])
    expect(left.body.daysInStage).toBe(24)
  })

  it('stuck thresholds are twice the median calendar days, compared with calendar days in stage', async () => {
    // Three won deals each spent 10 calendar days in Value Proposition (23:00 on 25 October EDT to
    // 01:00 on 4 November EST: 9 days and 3 hours elapsed), so the threshold is 20 days; a deal in
    // the stage for 20 calendar days is not above it.
    const won = ['9300000000000000011', '9300000000000000012', '9300000000000000013']
    const open = '9300000000000000014'
    await setDeals(database.db, STUCK_ORG, [
      ...won.map((id) => ({ id, stage: 'Closed Won', entered: '2026-11-04T06:00:00Z', close: '2026-11-04' })),
      { id: open, stage: 'Value Proposition', entered: '2026-11-06T17:00:00Z' },
    ])
    await addHistory(
      database.db,
      STUCK_ORG,
      won.flatMap((id) => [
        [id, 'Value Proposition', '2026-10-26T03:00:00Z'],
        [id, 'Closed Won', '2026-11-04T06:00:00Z'],
      ]),
    )
    const r = await get('/risk?limit=100', STUCK_ORG)
    expect(r.status).toBe(200)
    expect(r.body.thresholds.find((t: any) => t.stage === 'Value Proposition')).toEqual({
      stage: 'Value Proposition',
      days: 20,
      source: 'default',
    })
    expect(r.body.counts.stuck).toBe(0)
    const settings = await get('/settings', STUCK_ORG)
    expect(settings.body.thresholds.find((t: any) => t.stage === 'Value Proposition')).toMatchObject({
      days: 20,
      medianWonDays: 10,
    })
  })
})
