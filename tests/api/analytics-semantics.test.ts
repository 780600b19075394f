import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../api/src/db/client'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { createTestApp } from '../helpers/app'
import { asUser } from '../helpers/auth'
import { copySeededOrg, seedOrg, type SeedResult } from '../helpers/seed'
import { addHistory, setDeals } from './analytics-mini-org'

/*
 * Figures of METRICS.md and DESIGN.md checked on small hand-built orgs, through the HTTP API, where
 * a review found the implementation saying something else. The app's clock is the seed's:
 * 2026-11-26 14:00 in Singapore.
 */

const DEAL = '9400000000000000001'

describe(`analytics semantics (${testDbKind})`, () => {
  let database: Database
  let seed: SeedResult
  let app: ReturnType<typeof createTestApp>

  const get = async (path: string, orgId: string, userId = seed.users.admin) => {
    const res = await app.app.request(`/api/v1${path}`, { headers: await asUser(app.config, orgId, userId) })
    return { status: res.status, body: (await res.json()) as any }
  }

  beforeAll(async () => {
    database = await createTestDatabase()
    seed = await seedOrg(database.db)
    app = createTestApp(database, {}, { now: () => seed.now })
  })
  afterAll(() => database.close())

  it("the deal view's stage history: one entry per stay, by display value, as time in stage counts", async () => {
    const org = '7000000000000000091'
    await copySeededOrg(database.db, org, seed.orgId)
    await setDeals(database.db, org, [
      { id: DEAL, stage: 'Negotiation/Review', entered: '2026-11-10T02:00:00Z' },
    ])
    // Zoho's Stage_History carries the picklist's actual value "Proposal" for "Proposal/Price Quote",
    // and writes a row when the Amount changes while the stage stays.
    await addHistory(database.db, org, [
      [DEAL, 'Qualification', '2026-10-01T02:00:00Z'],
      [DEAL, 'Qualification', '2026-10-11T02:00:00Z'],
      [DEAL, 'Proposal', '2026-10-21T02:00:00Z'],
      [DEAL, 'Proposal/Price Quote', '2026-10-26T02:00:00Z'],
      [DEAL, 'Negotiation/Review', '2026-11-10T02:00:00Z'],
    ])
    const r = await get(`/deals/${DEAL}`, org)
    expect(r.status).toBe(200)
    expect(r.body.stageHistory.map((h: any) => [h.stage, h.enteredAt, h.leftAt, h.days])).toEqual([
      ['Qualification', '2026-10-01T02:00:00Z', '2026-10-21T02:00:00Z', 20],
      ['Proposal/Price Quote', '2026-10-21T02:00:00Z', '2026-11-10T02:00:00Z', 20],
      ['Negotiation/Review', '2026-11-10T02:00:00Z', null, 16],
    ])
    // The same stays in the time-in-stage report.
    const tis = await get('/time-in-stage?from=2026-10-01&to=2026-11-26', org)
    const left = Object.fromEntries(tis.body.stages.map((s: any) => [s.stage, s.left.averageDays]))
    expect(left).toMatchObject({ Qualification: 20, 'Proposal/Price Quote': 20 })
  })

  it("the funnel's win rate is won ÷ (won + lost), as the headline's: open deals are undecided", async () => {
    const org = '7000000000000000090'
    await copySeededOrg(database.db, org, seed.orgId)
    const created = '2026-10-05T02:00:00Z'
    await setDeals(database.db, org, [
      { id: '9400000000000000011', stage: 'Closed Won', created, close: '2026-10-20' },
      { id: '9400000000000000012', stage: 'Closed Lost', created, close: '2026-10-21' },
      { id: '9400000000000000013', stage: 'Qualification', created },
      { id: '9400000000000000014', stage: 'Needs Analysis', created },
    ])
    const funnel = await get('/funnel?from=2026-10-01&to=2026-10-31', org)
    expect(funnel.status).toBe(200)
    expect(funnel.body).toMatchObject({ cohort: 4, won: 1, lost: 1, winRate: '0.5000' })
    const summary = await get('/pipeline/summary?from=2026-10-01&to=2026-10-31', org)
    expect(summary.body.winRate.count).toBe('0.5000')
  })
})
