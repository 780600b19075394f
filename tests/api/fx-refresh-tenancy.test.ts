import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { fxRefreshResponse, type FxRefreshResponse } from '#shared/contracts/fx'
import { query, type Database } from '../../api/src/db/client'
import { loadRateBook, repriceEstimatedClosedDeals, repriceOpenDeals } from '../../api/src/fx/pricing'
import { saveRateSet } from '../../api/src/fx/store'
import { mondayOf, utcDate } from '../../api/src/fx/week'
import { startSandbox, type Sandbox } from '../../api/src/sandbox'
import { createTestApp } from '../helpers/app'
import { asWidget } from '../helpers/auth'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { insertDeals, insertOrg, insertUser, readDeals } from '../fx/helpers'

/*
 * POST /fx/refresh as the admin of a small org B sees it, in a deployment that also serves a big
 * org A: rate sets and the provider's quota are shared, so B learns nothing about A's deals, and a
 * refresh reaches the provider only when the newest set is due (CURRENCY_CACHE_DAYS old).
 */
const ORG_A = '9007199254740996001'
const ORG_B = '9007199254740996002'
const ADMIN_A = '9007199254740996101'
const ADMIN_B = '9007199254740996102'
const thisMonday = mondayOf(utcDate(new Date()))
const lastMonday = utcDate(new Date(Date.parse(`${thisMonday}T00:00:00Z`) - 7 * 86_400_000))

describe(`FX refresh across orgs (${testDbKind})`, () => {
  let database: Database
  let sb: Sandbox
  let app: ReturnType<typeof createTestApp>
  const fxCalls = () => sb.calls.filter((c) => c.service === 'fx').length
  const refresh = async (org: string, user: string) => {
    const res = await app.app.request('/api/v1/fx/refresh', {
      method: 'POST',
      headers: await asWidget(app.config, org, user),
    })
    return { status: res.status, body: (await res.json()) as FxRefreshResponse }
  }

  beforeAll(async () => {
    database = await createTestDatabase()
    sb = await startSandbox({ deals: 5 })
    const db = database.db
    await insertOrg(db, ORG_A, 'USD')
    await insertOrg(db, ORG_B, 'USD')
    await insertUser(db, ORG_A, ADMIN_A, true)
    await insertUser(db, ORG_B, ADMIN_B, true)
    await saveRateSet(db, {
      weekDate: lastMonday,
      kind: 'latest',
      providerDate: new Date(`${lastMonday}T00:00:00Z`),
      fetchedAt: new Date(`${lastMonday}T00:01:00Z`),
      rates: { USD: '1', SGD: '1.3', JPY: '150', EUR: '0.95' },
    })
    // A: 40 open foreign-currency deals; B: one.
    await insertDeals(
      db,
      ORG_A,
      Array.from({ length: 40 }, (_, i) => ({
        id: String(1000 + i),
        amount: String(1000 + i * 7),
        currency: i % 2 ? 'JPY' : 'EUR',
        state: 'open' as const,
        closingDate: '2027-01-15',
      })),
    )
    await insertDeals(db, ORG_B, [
      { id: '1', amount: '500000', currency: 'JPY', state: 'open', closingDate: '2027-01-15' },
    ])
    const book = await loadRateBook(db, 'SGD')
    await repriceOpenDeals(db, book)
    await repriceEstimatedClosedDeals(db, book)
    app = createTestApp(database, { CURRENCY_API_URL: sb.fxUrl, CURRENCY_API_KEY: sb.fxApiKey })
  })
  afterAll(async () => {
    await sb.close()
    await database.close()
  })

  it("reports only the caller's own org's repriced deals", async () => {
    const { status, body } = await refresh(ORG_B, ADMIN_B)
    expect(status).toBe(200)
    fxRefreshResponse.parse(body)
    expect(body).toMatchObject({ refreshed: true, calls: 1, set: { weekDate: thisMonday } })
    // B owns one deal: the 40 of org A repriced by the same shared set are not B's to see
    expect(body.repriced).toBe(1)
    // the new set still reaches A (sets are global), audited only in B
    expect([...(await readDeals(database.db, ORG_A)).values()].every((d) => d.fxDate === thisMonday)).toBe(
      true,
    )
    const audit = await query<{ org_id: string }>(
      database.db,
      sql`select org_id from audit_log where action = 'fx.refresh'`,
    )
    expect(audit.map((a) => a.org_id)).toEqual([ORG_B])
  })

  it('does not call the provider again while the newest set is fresh', async () => {
    const callsBefore = fxCalls()
    for (const [org, user] of [
      [ORG_B, ADMIN_B],
      [ORG_B, ADMIN_B],
      [ORG_A, ADMIN_A],
    ] as const) {
      const { status, body } = await refresh(org, user)
      expect(status).toBe(200)
      fxRefreshResponse.parse(body)
      expect(body).toMatchObject({ refreshed: false, calls: 0, repriced: 0, set: { weekDate: thisMonday } })
    }
    expect(fxCalls()).toBe(callsBefore)

    // Once the set is CURRENCY_CACHE_DAYS old, a refresh reaches the provider again.
    await database.db.execute(
      sql`update fx_rate_sets set fetched_at = fetched_at - interval '8 days' where week_date = ${thisMonday}`,
    )
    const due = await refresh(ORG_A, ADMIN_A)
    expect(due.status).toBe(200)
    expect(due.body).toMatchObject({ refreshed: true, calls: 1 })
    expect(fxCalls()).toBe(callsBefore + 1)
  })
})
