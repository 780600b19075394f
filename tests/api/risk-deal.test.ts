import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database, Db } from '../../api/src/db/client'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { createTestApp } from '../helpers/app'
import { asUser } from '../helpers/auth'
import { copySeededOrg, insertJson, seedOrg, type SeedResult } from '../helpers/seed'

/*
 * The deal page's risk flags come from GET /risk?dealId=…: one deal's flags, wherever it would rank in
 * the listing. Here one stage holds 1,201 overdue deals and the one asked for is the smallest, so it
 * is past the listing's 1,000-row limit. The app's clock is the seed's: 2026-11-26 in Singapore.
 */

const ORG = '7000000000000000094'
const SMALL = '9100000000000000001'
const OTHER_TEAM = '9100000000000000002'

describe(`risk: one deal's flags (${testDbKind})`, () => {
  let database: Database
  let seed: SeedResult
  let app: ReturnType<typeof createTestApp>

  const get = async (path: string, userId: string) => {
    const res = await app.app.request(`/api/v1${path}`, {
      headers: await asUser(app.config, ORG, userId),
    })
    return { status: res.status, body: (await res.json()) as any }
  }

  beforeAll(async () => {
    database = await createTestDatabase()
    seed = await seedOrg(database.db)
    app = createTestApp(database, {}, { now: () => seed.now })
    await copySeededOrg(database.db, ORG, seed.orgId)
    const big = Array.from({ length: 1200 }, (_, i) => ({
      id: String(9200000000000000000n + BigInt(i)),
      amount: `${10_000 + i}.00`,
      owner: seed.users.rep,
    }))
    await insertOverdue(database.db, [
      ...big,
      { id: SMALL, amount: '1.00', owner: seed.users.rep },
      { id: OTHER_TEAM, amount: '1.00', owner: seed.users.otherRep },
    ])
  })
  afterAll(() => database.close())

  it('the deal is past the first 1,000 of its stage in the listing', async () => {
    const r = await get('/risk?stage=Qualification&limit=1000', seed.users.rep)
    expect(r.status).toBe(200)
    expect(r.body.counts.total).toBe(1201)
    expect(r.body.deals.map((d: any) => d.id)).not.toContain(SMALL)
  })

  it("returns that deal's flags to its owner, and only that deal", async () => {
    const r = await get(`/risk?dealId=${SMALL}`, seed.users.rep)
    expect(r.status).toBe(200)
    expect(r.body.deals).toHaveLength(1)
    expect(r.body.deals[0]).toMatchObject({
      id: SMALL,
      reasons: [{ code: 'overdue', message: 'Closing date 2026-10-01 has passed' }],
    })
    expect(r.body.counts).toMatchObject({ total: 1, overdue: 1 })
  })

  it("keeps a rep's scope: another team's deal has no flags for them, but has for the admin", async () => {
    const rep = await get(`/risk?dealId=${OTHER_TEAM}`, seed.users.rep)
    expect(rep.status).toBe(200)
    expect(rep.body.deals).toEqual([])
    const admin = await get(`/risk?dealId=${OTHER_TEAM}`, seed.users.admin)
    expect(admin.body.deals.map((d: any) => d.id)).toEqual([OTHER_TEAM])
  })

  it('rejects a dealId that is not a Zoho id with a 400', async () => {
    const r = await get('/risk?dealId=12%20or%201=1', seed.users.rep)
    expect(r.status).toBe(400)
    expect(r.body.error.code).toBe('INVALID_INPUT')
    expect(r.body.error.message).toMatch(/dealId/)
  })
})

/** Open SGD deals in Qualification whose closing date (2026-10-01) has passed, active yesterday. */
async function insertOverdue(db: Db, deals: { id: string; amount: string; owner: string }[]) {
  const rows = deals.map((d) => ({
    org_id: ORG,
    id: d.id,
    name: `Deal ${d.id}`,
    stage: 'Qualification',
    state: 'open',
    forecast_category: 'Pipeline',
    pipeline: 'Standard',
    owner_id: d.owner,
    owner_name: 'Rep',
    currency: 'SGD',
    amount: d.amount,
    probability: 10,
    effective_probability: 10,
    amount_sgd: d.amount,
    weighted_sgd: d.amount,
    fx_rate: '1',
    fx_source: 'identity',
    fx_estimated: false,
    closing_date: '2026-10-01',
    created_time: '2026-11-20T00:00:00Z',
    modified_time: '2026-11-20T00:00:00Z',
    last_activity_time: '2026-11-25T00:00:00Z',
    stage_entered_at: '2026-11-20T00:00:00Z',
    closing_push_count: 0,
    synced_at: '2026-11-20T00:00:00Z',
  }))
  await insertJson(db, 'deals', rows)
}
