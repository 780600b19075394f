import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query, type Database } from '../../api/src/db/client'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { createTestApp } from '../helpers/app'
import { asUser } from '../helpers/auth'
import { copySeededOrg, seedOrg, type SeedResult } from '../helpers/seed'
import { addHistory, setDeals } from './analytics-mini-org'
import { localDate } from '../../api/src/analytics/period'

/*
 * Days in a stage are calendar days in the org's time zone (METRICS: "Dates are calendar dates in the
 * org's time zone"), the same count in the time-in-stage report, the deal view, the risk list and the
 * stuck thresholds. The org is in New York, whose clocks went back on 2026-11-01; the app's clock is
 * 2026-11-26 06:00 UTC, 01:00 in New York: today is 2026-11-26 there.
 */

const ORG = '7000000000000000093'
const STUCK_ORG = '7000000000000000092'
const EDGE_ORG = '7000000000000000091'
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
    for (const org of [ORG, STUCK_ORG, EDGE_ORG]) {
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

  it('the risk flags turn at midnight in the org, on either side of its change of the clocks', async () => {
    // Thresholds set: Qualification 10 days (from midnight on 16 November, EST), Needs Analysis 29
    // (from midnight on 28 October, still EDT); quiet from 7 days (midnight on 20 November). Each
    // pair of deals straddles one of those midnights by a second. Expected flags come from the
    // calendar days Intl counts in New York, compared as METRICS says: stuck above the threshold,
    // quiet at or above the quiet days.
    const deals = [
      { id: '9300000000000000021', stage: 'Qualification', entered: '2026-11-16T04:59:59Z' },
      { id: '9300000000000000022', stage: 'Qualification', entered: '2026-11-16T05:00:00Z' },
      { id: '9300000000000000023', stage: 'Needs Analysis', entered: '2026-10-28T03:59:59Z' },
      { id: '9300000000000000024', stage: 'Needs Analysis', entered: '2026-10-28T04:00:00Z' },
      {
        id: '9300000000000000025',
        stage: 'Qualification',
        entered: '2026-11-25T00:00:00Z',
        lastActivity: '2026-11-20T04:59:59Z',
      },
      {
        id: '9300000000000000026',
        stage: 'Qualification',
        entered: '2026-11-25T00:00:00Z',
        lastActivity: '2026-11-20T05:00:00Z',
      },
    ]
    await setDeals(
      database.db,
      EDGE_ORG,
      deals.map((d) => ({ ...d, created: '2026-10-01T00:00:00Z' })),
    )
    const put = await app.app.request('/api/v1/settings', {
      method: 'PUT',
      headers: {
        ...(await asUser(app.config, EDGE_ORG, seed.users.admin)),
        'content-type': 'application/json',
        'sec-fetch-site': 'same-origin',
      },
      body: JSON.stringify({ quietDays: 7, staleDaysByStage: { Qualification: 10, 'Needs Analysis': 29 } }),
    })
    expect(put.status).toBe(200)
    const today = '2026-11-26'
    const days = (at: string) => (Date.parse(today) - Date.parse(localDate(new Date(at), TZ))) / 86_400_000
    const threshold: Record<string, number> = { Qualification: 10, 'Needs Analysis': 29 }
    const expected = deals
      .map((d) => ({
        id: d.id,
        daysInStage: days(d.entered),
        stuck: days(d.entered) > threshold[d.stage]!,
        quiet: days(d.lastActivity ?? '2026-11-25T00:00:00Z') >= 7,
      }))
      .filter((d) => d.stuck || d.quiet)
    // The straddling pairs do fall on either side: 11 and 10 days, 30 and 29, quiet 7 and 6.
    expect(expected.map((d) => [d.id.slice(-2), d.daysInStage, d.stuck, d.quiet])).toEqual([
      ['21', 11, true, false],
      ['23', 30, true, false],
      ['25', 2, false, true],
    ])
    const r = await get('/risk?limit=100', EDGE_ORG)
    expect(r.status).toBe(200)
    expect(r.body.counts).toMatchObject({ total: 3, stuck: 2, quiet: 1, overdue: 0, slipping: 0 })
    const got = r.body.deals
      .map((d: any) => ({
        id: d.id,
        daysInStage: d.daysInStage,
        stuck: d.reasons.some((x: any) => x.code === 'stuck'),
        quiet: d.reasons.some((x: any) => x.code === 'quiet'),
      }))
      .sort((a: any, b: any) => a.id.localeCompare(b.id))
    expect(got).toEqual(expected)
  })
})
