import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query, type Database } from '../../api/src/db/client'
import { refreshAnalyticsRollups } from '../../api/src/analytics/rollup'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { seedOrg, type SeedResult } from '../helpers/seed'

describe(`month rollup refresh (${testDbKind})`, () => {
  let database: Database
  let seed: SeedResult
  beforeAll(async () => {
    database = await createTestDatabase()
    seed = await seedOrg(database.db)
  })
  afterAll(async () => {
    await database?.close()
  })

  /** The org totals (by state, month and stage) as text rows, and the same from the deals table. */
  async function totals() {
    const rolled = await query<{ r: string }>(
      database.db,
      sql`select concat_ws('|', state, close_month, stage, deal_count, unpriced_count, amount_sgd, weighted100,
                 cycle_days) as r
          from deal_month_totals where org_id = ${seed.orgId} order by 1`,
    )
    const direct = await query<{ r: string }>(
      database.db,
      sql`select concat_ws('|', state, date_trunc('month', closing_date)::date, stage, count(*),
                 count(*) filter (where amount_sgd is null), sum(amount_sgd),
                 sum(amount_sgd * coalesce(effective_probability, 0)),
                 sum(closing_date - (created_time at time zone 'Asia/Singapore')::date)) as r
          from deals where org_id = ${seed.orgId}
          group by state, date_trunc('month', closing_date), stage
          order by 1`,
    )
    return { rolled: rolled.map((x) => x.r), direct: direct.map((x) => x.r) }
  }

  /** The rollup as text rows, and the same figures aggregated straight from the deals table. */
  async function both() {
    const key = `state, close_month, owner_id, stage, pipeline, currency, territory, forecast_category`
    const rolled = await query<{ r: string }>(
      database.db,
      sql`select concat_ws('|', ${sql.raw(key)}, deal_count, unpriced_count, amount_sgd, weighted100, cycle_days) as r
          from deal_month_rollup where org_id = ${seed.orgId} order by 1`,
    )
    const direct = await query<{ r: string }>(
      database.db,
      sql`select concat_ws('|', state, date_trunc('month', closing_date)::date, owner_id, stage, pipeline, currency,
                 territory, forecast_category, count(*), count(*) filter (where amount_sgd is null), sum(amount_sgd),
                 sum(amount_sgd * coalesce(effective_probability, 0)),
                 sum(closing_date - (created_time at time zone 'Asia/Singapore')::date)) as r
          from deals where org_id = ${seed.orgId}
          group by state, date_trunc('month', closing_date), owner_id, stage, pipeline, currency, territory, forecast_category
          order by 1`,
    )
    return { rolled: rolled.map((x) => x.r), direct: direct.map((x) => x.r) }
  }
  const versions = () =>
    query<{ v: string }>(
      database.db,
      sql`select xmin::text || ':' || ctid::text as v from deal_month_rollup where org_id = ${seed.orgId} order by 1`,
    ).then((rows) => rows.map((r) => r.v))

  it('holds exactly the figures of the deals table, and rewrites only the groups that changed', async () => {
    await refreshAnalyticsRollups(database.db, seed.orgId)
    const first = await both()
    expect(first.rolled.length).toBeGreaterThan(5)
    expect(first.rolled).toEqual(first.direct)
    const firstTotals = await totals()
    expect(firstTotals.rolled.length).toBeGreaterThan(5)
    expect(firstTotals.rolled.length).toBeLessThan(first.rolled.length)
    expect(firstTotals.rolled).toEqual(firstTotals.direct)

    // Nothing changed: not one row is rewritten (no dead tuples for the summary to scan past).
    const before = await versions()
    await refreshAnalyticsRollups(database.db, seed.orgId)
    expect(await versions()).toEqual(before)

    // One open deal's amount moves: its group is rewritten, every other row stays as it was.
    const [deal] = await query<{ id: string }>(
      database.db,
      sql`select id from deals where org_id = ${seed.orgId} and state = 'open' and amount_sgd is not null
          order by id limit 1`,
    )
    await database.db.execute(
      sql`update deals set amount_sgd = amount_sgd + 1000.01 where org_id = ${seed.orgId} and id = ${deal!.id}`,
    )
    await refreshAnalyticsRollups(database.db, seed.orgId)
    const after = await versions()
    expect(after.filter((v) => !before.includes(v))).toHaveLength(1)
    expect(before.filter((v) => !after.includes(v))).toHaveLength(1)
    const second = await both()
    expect(second.rolled).toEqual(second.direct)
    expect(second.rolled).not.toEqual(first.rolled)
    const secondTotals = await totals()
    expect(secondTotals.rolled).toEqual(secondTotals.direct)
    expect(secondTotals.rolled).not.toEqual(firstTotals.rolled)

    // Deals gone: their groups go too.
    await database.db.execute(sql`delete from deals where org_id = ${seed.orgId} and state <> 'open'`)
    await refreshAnalyticsRollups(database.db, seed.orgId)
    const third = await both()
    expect(third.rolled).toEqual(third.direct)
    expect(third.rolled.every((r) => r.startsWith('open|'))).toBe(true)
    const thirdTotals = await totals()
    expect(thirdTotals.rolled).toEqual(thirdTotals.direct)
    expect(thirdTotals.rolled.every((r) => r.startsWith('open|'))).toBe(true)
  })

  it('refreshes running at once (a sync ending while the snapshot job runs) leave each group once', async () => {
    for (let round = 0; round < 5; round++) {
      await database.db.execute(
        sql`update deals set amount_sgd = amount_sgd + 1 where org_id = ${seed.orgId} and amount_sgd is not null`,
      )
      await Promise.all([1, 2, 3].map(() => refreshAnalyticsRollups(database.db, seed.orgId)))
      const { rolled, direct } = await both()
      expect(rolled).toEqual(direct)
      const t = await totals()
      expect(t.rolled).toEqual(t.direct)
    }
  })
})
