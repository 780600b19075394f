import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import type { Database } from '../../api/src/db/client'
import { rateBookFrom, repriceAllDealsOfOrg } from '../../api/src/fx/pricing'
import { takeSnapshot } from '../../api/src/analytics/snapshot'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { createTestApp } from '../helpers/app'
import { asUser } from '../helpers/auth'
import { copySeededOrg, seedOrg, type SeedResult } from '../helpers/seed'
import { setDeals } from './analytics-mini-org'

/*
 * A base currency whose minor unit is not the cent (BASE_CURRENCY is configurable): every figure is
 * rounded half-even once to that currency's minor unit, as DESIGN.md's money contract says (the
 * ISO 4217 exponent: KWD 0.001, JPY 1). Two orgs, one in KWD and one in JPY, hold the same three USD
 * deals, priced by the real repricing from one rate set (1 USD = 0.30752 KWD = 151.37 JPY):
 *
 *   A  Qualification (10%)       1,001.00 USD → 307.82752 KWD → 307.828;  151,521.37 JPY → 151,521
 *   B  Value Proposition (40%)      10.05 USD →   3.090576 KWD →   3.091;    1,521.2685 JPY →   1,521
 *   W  Closed Won, 2026-11-25      250.00 USD →  76.88 KWD    →  76.880;    37,842.5 JPY  →  37,842
 *
 * Open: KWD 310.919, weighted 30.7828 + 1.2364 = 32.0192 → 32.019; JPY 153,042, weighted
 * 15,152.1 + 608.4 = 15,760.5 → 15,760 (half-even). The org's today is 2026-11-26 (calendar fiscal
 * year): A and B close on 2026-12-15, all three in FY2026 Q4.
 */

const KWD_ORG = '7000000000000000081'
const JPY_ORG = '7000000000000000082'
const [A, B, W] = ['8100000000000000001', '8100000000000000002', '8100000000000000003']

describe(`analytics: figures in the base currency's minor unit (${testDbKind})`, () => {
  let database: Database
  let seed: SeedResult
  let app: ReturnType<typeof createTestApp>

  const get = async (path: string, org: string) => {
    const res = await app.app.request(`/api/v1${path}`, {
      headers: await asUser(app.config, org, seed.users.admin),
    })
    return { status: res.status, body: (await res.json()) as any }
  }

  beforeAll(async () => {
    database = await createTestDatabase()
    seed = await seedOrg(database.db)
    app = createTestApp(database, {}, { now: () => seed.now })
    const rates = { USD: '1', SGD: '1.3412', KWD: '0.30752', JPY: '151.37' }
    for (const [org, base] of [
      [KWD_ORG, 'KWD'],
      [JPY_ORG, 'JPY'],
    ] as const) {
      await copySeededOrg(database.db, org, seed.orgId)
      await database.db.execute(sql`update orgs set base_currency = ${base} where id = ${org}`)
      await setDeals(database.db, org, [
        { id: A, stage: 'Qualification', amount: '1001.00' },
        { id: B, stage: 'Value Proposition', amount: '10.05' },
        { id: W, stage: 'Closed Won', amount: '250.00', close: '2026-11-25' },
      ])
      await database.db.execute(sql`update deals set currency = 'USD', amount_sgd = null, weighted_sgd = null,
        fx_rate = null, fx_source = null where org_id = ${org}`)
      const book = rateBookFrom(base, [{ weekDate: '2026-11-23', rates }])
      expect(await repriceAllDealsOfOrg(database.db, book, org)).toBe(3)
      // The snapshot of 2026-11-25 (for the trend) also builds the org's rollups.
      await takeSnapshot(database.db, org, '2026-11-25')
    }
  })
  afterAll(() => database.close())

  it('KWD: amounts keep their third decimal in every figure', async () => {
    const deals = await get('/deals?sort=amount', KWD_ORG)
    expect(deals.status).toBe(200)
    const byId = Object.fromEntries(deals.body.deals.map((d: any) => [d.id, d.amountSgd]))
    expect(byId).toEqual({ [A]: '307.828', [B]: '3.091', [W]: '76.880' })

    const s = await get('/pipeline/summary', KWD_ORG)
    expect(s.status).toBe(200)
    expect(s.body).toMatchObject({
      currency: 'KWD',
      open: { count: 2, amount: '310.919', weighted: '32.019' },
      won: { count: 1, amount: '76.880' },
      averageDealSize: '76.880',
    })
    // A stage filter reads the deals, not the rollup: the same figures.
    const filtered = await get('/pipeline/summary?stage=Qualification,Value%20Proposition', KWD_ORG)
    expect(filtered.body.open).toEqual({ count: 2, amount: '310.919', weighted: '32.019' })
    const stages = await get('/pipeline/by-stage', KWD_ORG)
    const q = stages.body.stages.find((x: any) => x.stage === 'Qualification')
    expect(q).toMatchObject({ count: 1, amount: '307.828', weighted: '30.783' })

    const owners = await get('/pipeline/by-owner', KWD_ORG)
    expect(owners.body.owners).toHaveLength(1)
    expect(owners.body.owners[0]).toMatchObject({
      open: { count: 2, amount: '310.919', weighted: '32.019' },
      won: { count: 1, amount: '76.880' },
    })
    // Both open deals sit in their stage since 1 January: stuck, listed at their KWD value.
    const risk = await get('/risk', KWD_ORG)
    expect(risk.body.amount).toBe('310.919')
    expect(risk.body.deals.map((d: any) => d.amountSgd).sort()).toEqual(['3.091', '307.828'])

    const f = await get('/forecast?period=quarter', KWD_ORG)
    const q4 = f.body.buckets.find((b: any) => b.key === 'FY2026 Q4')
    // 310.919 open + 76.880 won; weighted 32.0192 + 76.88 = 108.8992
    expect(q4.total).toEqual({ count: 3, amount: '387.799', weighted: '108.899' })

    const t = await get('/trend', KWD_ORG)
    expect(t.body.points).toEqual([
      { day: '2026-11-25', count: 2, amount: '310.919', weighted: '32.019', unpriced: 0 },
    ])
    // 2 open × 76.880 × (1 won ÷ 1 decided) ÷ 328 days (2026-01-01 to 2026-11-25) = 0.46878…
    const v = await get('/velocity', KWD_ORG)
    expect(v.body).toMatchObject({ averageDealSize: '76.880', velocityPerDay: '0.469' })
  })

  it('KWD: the waterfall moves by fils', async () => {
    // A grows to 1,002.00 USD → 308.13504 KWD → 308.135 (+0.307), in the snapshot of the 26th.
    await database.db.execute(sql`update deals set amount = 1002.00 where org_id = ${KWD_ORG} and id = ${A}`)
    const book = rateBookFrom('KWD', [{ weekDate: '2026-11-23', rates: { USD: '1', KWD: '0.30752' } }])
    expect(await repriceAllDealsOfOrg(database.db, book, KWD_ORG)).toBe(1)
    await takeSnapshot(database.db, KWD_ORG, '2026-11-26')
    const w = await get('/waterfall?from=2026-11-25&to=2026-11-26', KWD_ORG)
    expect(w.status, JSON.stringify(w.body)).toBe(200)
    expect(w.body.start).toEqual({ count: 2, amount: '310.919' })
    expect(w.body.end).toEqual({ count: 2, amount: '311.226' })
    expect(w.body.buckets.find((b: any) => b.bucket === 'Increased')).toMatchObject({
      count: 1,
      amount: '0.307',
      deals: [{ id: A, name: `Deal ${A}`, amount: '0.307' }],
    })
  })

  it('JPY: whole yen in every figure, ties rounded half-even', async () => {
    const deals = await get('/deals?sort=amount', JPY_ORG)
    const byId = Object.fromEntries(deals.body.deals.map((d: any) => [d.id, d.amountSgd]))
    expect(byId).toEqual({ [A]: '151521', [B]: '1521', [W]: '37842' })

    const s = await get('/pipeline/summary', JPY_ORG)
    expect(s.body).toMatchObject({
      currency: 'JPY',
      open: { count: 2, amount: '153042', weighted: '15760' },
      won: { count: 1, amount: '37842' },
      averageDealSize: '37842',
    })
    const f = await get('/forecast?period=quarter', JPY_ORG)
    const q4 = f.body.buckets.find((b: any) => b.key === 'FY2026 Q4')
    // weighted 15,760.5 + 37,842 = 53,602.5 → 53,602
    expect(q4.total).toEqual({ count: 3, amount: '190884', weighted: '53602' })
    const t = await get('/trend', JPY_ORG)
    expect(t.body.points).toEqual([
      { day: '2026-11-25', count: 2, amount: '153042', weighted: '15760', unpriced: 0 },
    ])
    // 2 × 37,842 ÷ 328 = 230.74…
    const v = await get('/velocity', JPY_ORG)
    expect(v.body.velocityPerDay).toBe('231')
  })
})
