import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import type { Database } from '../../api/src/db/client'
import { SESSION_COOKIE, SESSION_PURPOSE } from '../../api/src/auth/middleware'
import { signToken } from '../../api/src/auth/token'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { createTestApp } from '../helpers/app'
import { seedOrg, type SeedResult } from '../helpers/seed'

/*
 * The UI's period presets ("This quarter", "Last quarter", "This year") come from /me: the org's
 * fiscal quarters and year around the org's today. The browser's calendar quarters ignored a fiscal
 * year starting in February, and its date is not the org's near midnight.
 */
describe(`org today and period presets (${testDbKind})`, () => {
  let database: Database
  let seed: SeedResult

  const me = async (now: Date) => {
    const { app, config } = createTestApp(database, {}, { now: () => now })
    const token = await signToken(config.secretKey, SESSION_PURPOSE, {
      orgId: seed.orgId,
      userId: seed.users.rep,
      exp: Math.floor(now.getTime() / 1000) + 3600,
    })
    const res = await app.request('/api/v1/me', { headers: { cookie: `${SESSION_COOKIE}=${token}` } })
    expect(res.status).toBe(200)
    return (await res.json()) as { org: { today: string; periods: Record<string, unknown> } }
  }

  beforeAll(async () => {
    database = await createTestDatabase()
    seed = await seedOrg(database.db)
  })
  afterAll(() => database.close())

  it('uses the fiscal year start month and the org time zone ahead of UTC', async () => {
    await database.db.execute(
      sql`update orgs set time_zone = 'Pacific/Auckland', fiscal_year_start_month = 2 where id = ${seed.orgId}`,
    )
    // 2026-12-31 23:30 UTC is 2027-01-01 12:30 in Auckland: the fiscal year is Feb 2026 – Jan 2027.
    const body = await me(new Date('2026-12-31T23:30:00Z'))
    expect(body.org.today).toBe('2027-01-01')
    expect(body.org.periods).toEqual({
      thisQuarter: { from: '2026-11-01', to: '2027-01-31' },
      lastQuarter: { from: '2026-08-01', to: '2026-10-31' },
      thisYear: { from: '2026-02-01', to: '2027-01-31' },
    })
  })

  it("uses the org's date, not UTC's, behind UTC on a quarter's last evening", async () => {
    await database.db.execute(
      sql`update orgs set time_zone = 'America/New_York', fiscal_year_start_month = 1 where id = ${seed.orgId}`,
    )
    // 23:30 on 31 March in New York is already 1 April in UTC.
    const body = await me(new Date('2026-04-01T03:30:00Z'))
    expect(body.org.today).toBe('2026-03-31')
    expect(body.org.periods).toEqual({
      thisQuarter: { from: '2026-01-01', to: '2026-03-31' },
      lastQuarter: { from: '2025-10-01', to: '2025-12-31' },
      thisYear: { from: '2026-01-01', to: '2026-12-31' },
    })
  })
})
