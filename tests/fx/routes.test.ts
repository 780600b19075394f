import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import type { FxRatesResponse, FxRefreshResponse, FxStatusResponse } from '#shared/contracts/fx'
import { fxRatesResponse, fxRefreshResponse, fxStatusResponse } from '#shared/contracts/fx'
import type { Database } from '../../api/src/db/client'
import { loadRateBook, repriceEstimatedClosedDeals, repriceOpenDeals } from '../../api/src/fx/pricing'
import { saveRateSet } from '../../api/src/fx/store'
import { mondayOf, utcDate } from '../../api/src/fx/week'
import { startSandbox, type Sandbox } from '../../api/src/sandbox'
import { createTestApp } from '../helpers/app'
import { asUser, asWidget } from '../helpers/auth'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { insertDeals, insertOrg, insertUser, readDeals } from './helpers'

/*
 * The FX routes end to end: the app over a test database, the sandbox provider over real HTTP.
 * Stored before: the set of 2026-06-01 (historical) and last week's latest set; this week's comes
 * from the admin's refresh.
 */
const ORG = '9007199254740995001'
const OTHER_ORG = '9007199254740995002'
const ADMIN = '9007199254740995101'
const REP = '9007199254740995102'
const thisMonday = mondayOf(utcDate(new Date()))
const lastMonday = utcDate(new Date(Date.parse(`${thisMonday}T00:00:00Z`) - 7 * 86_400_000))

describe(`FX routes (${testDbKind})`, () => {
  let database: Database
  let sb: Sandbox
  let app: ReturnType<typeof createTestApp>

  beforeAll(async () => {
    database = await createTestDatabase()
    sb = await startSandbox({ deals: 5 })
    const db = database.db
    await insertOrg(db, ORG, 'USD')
    await insertOrg(db, OTHER_ORG, 'USD')
    await insertUser(db, ORG, ADMIN, true)
    await insertUser(db, ORG, REP, false)
    await saveRateSet(db, {
      weekDate: '2026-06-01',
      kind: 'historical',
      providerDate: new Date('2026-06-01T00:00:00Z'),
      fetchedAt: new Date('2026-07-01T00:00:00Z'),
      rates: { USD: '1', SGD: '1.35', JPY: '140', EUR: '0.9' },
    })
    await saveRateSet(db, {
      weekDate: lastMonday,
      kind: 'latest',
      providerDate: new Date(`${lastMonday}T00:00:00Z`),
      fetchedAt: new Date(`${lastMonday}T00:01:00Z`),
      rates: { USD: '1', SGD: '1.3', JPY: '150', EUR: '0.95' },
    })
    await insertDeals(db, ORG, [
      { id: '1', amount: '1000000', currency: 'JPY', state: 'open', closingDate: '2027-01-15' },
      {
        id: '2',
        amount: '1000000',
        currency: 'JPY',
        state: 'won',
        closingDate: '2026-06-03',
        probability: 100,
      },
      { id: '3', amount: '5000', currency: 'EUR', state: 'lost', closingDate: '2026-06-04', probability: 0 },
      { id: '4', amount: '700000', currency: 'MMK', state: 'open', closingDate: '2027-01-15' },
      { id: '5', amount: '100', currency: 'MMK', state: 'won', closingDate: '2026-06-05' },
      { id: '6', amount: '250', currency: 'SGD', state: 'open', closingDate: '2027-01-15' },
    ])
    await insertDeals(db, OTHER_ORG, [
      { id: '1', amount: '1', currency: 'XAF', state: 'open', closingDate: null },
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

  it('answers the set that applies to a date, and 400 for a bad date', async () => {
    const headers = await asUser(app.config, ORG, REP)
    // Wednesday 2026-06-03 → Monday 2026-06-01
    const res = await app.app.request('/api/v1/fx/rates?date=2026-06-03', { headers })
    expect(res.status).toBe(200)
    const body = fxRatesResponse.parse(await res.json()) as FxRatesResponse
    expect(body).toMatchObject({
      date: '2026-06-03',
      weekDate: '2026-06-01',
      kind: 'historical',
      source: 'currencyfreaks',
      fetchedAt: '2026-07-01T00:00:00.000Z',
      estimated: false,
      quoteBase: 'USD',
      currency: 'SGD',
      rates: { USD: '1', SGD: '1.35', JPY: '140', EUR: '0.9' },
    })
    // no date, or a date after the newest week → the newest set
    const newest = (await (await app.app.request('/api/v1/fx/rates', { headers })).json()) as FxRatesResponse
    expect(newest.weekDate).toBe(lastMonday)
    const future = (await (
      await app.app.request('/api/v1/fx/rates?date=2030-01-01', { headers })
    ).json()) as FxRatesResponse
    expect(future).toMatchObject({ weekDate: lastMonday, estimated: false })
    // a week with no set → the nearest earlier one, flagged
    const gap = (await (
      await app.app.request('/api/v1/fx/rates?date=2026-08-12', { headers })
    ).json()) as FxRatesResponse
    expect(gap).toMatchObject({ weekDate: '2026-06-01', estimated: true })

    for (const bad of ['2026-02-30', '03/06/2026', 'yesterday', '2026-6-3']) {
      const r = await app.app.request(`/api/v1/fx/rates?date=${encodeURIComponent(bad)}`, { headers })
      expect(r.status).toBe(400)
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('INVALID_INPUT')
    }
    expect((await app.app.request('/api/v1/fx/rates')).status).toBe(401)

    // The reporting currency is the org's own (orgs.base_currency), as its deals are priced.
    await database.db.execute(sql`update orgs set base_currency = 'USD' where id = ${ORG}`)
    try {
      const usd = (await (await app.app.request('/api/v1/fx/rates', { headers })).json()) as FxRatesResponse
      expect(usd.currency).toBe('USD')
    } finally {
      await database.db.execute(sql`update orgs set base_currency = 'SGD' where id = ${ORG}`)
    }
  })

  it('reports freshness and the org’s unpriced deals', async () => {
    const res = await app.app.request('/api/v1/fx/status', { headers: await asWidget(app.config, ORG, REP) })
    expect(res.status).toBe(200)
    const body = fxStatusResponse.parse(await res.json()) as FxStatusResponse
    expect(body.newest).toMatchObject({ weekDate: lastMonday, kind: 'latest' })
    expect(body.sets).toBe(2)
    expect(body.cacheDays).toBe(7)
    expect(body.stale).toBe(true) // fetched last Monday 00:01: more than 7 days ago
    expect(body.provider.reachable).toBeNull() // never tried yet
    // MMK (2 deals, no Zoho rate) is missing; XAF belongs to the other org and is not reported
    expect(body.missingCurrencies).toEqual([{ currency: 'MMK', deals: 2 }])
    expect(body.deals).toEqual({ unpriced: 2, zoho: 0, estimated: 0 })
  })

  it('lets only an admin refresh, then re-prices open deals and leaves closed deals alone', async () => {
    const rep = await app.app.request('/api/v1/fx/refresh', {
      method: 'POST',
      headers: await asWidget(app.config, ORG, REP),
    })
    expect(rep.status).toBe(403)
    expect(sb.calls.filter((c) => c.service === 'fx')).toHaveLength(0)

    const before = await readDeals(database.db, ORG)
    const res = await app.app.request('/api/v1/fx/refresh', {
      method: 'POST',
      headers: await asWidget(app.config, ORG, ADMIN),
    })
    expect(res.status).toBe(200)
    const body = fxRefreshResponse.parse(await res.json()) as FxRefreshResponse
    expect(body.set).toMatchObject({ weekDate: thisMonday, kind: 'latest' })
    // the latest set; the closed deals' week (2026-06-01) is already stored: no historical call
    expect(body.calls).toBe(1)
    const after = await readDeals(database.db, ORG)
    // open JPY deal now uses this week's set
    expect(before.get('1')!.fxDate).toBe(lastMonday)
    expect(after.get('1')!.fxDate).toBe(thisMonday)
    expect(after.get('1')!.amountSgd).not.toBe(before.get('1')!.amountSgd)
    // won/lost deals keep their closing week's rate; SGD and unpriced deals are unchanged
    for (const id of ['2', '3', '5', '6', '4']) expect(after.get(id)).toEqual(before.get(id))
    expect(after.get('2')).toMatchObject({ amountSgd: '9642.86', fxDate: '2026-06-01' })
    expect(body.repriced).toBe(1)
    expect(body.refreshed).toBe(true)

    const status = (await (
      await app.app.request('/api/v1/fx/status', { headers: await asUser(app.config, ORG, ADMIN) })
    ).json()) as FxStatusResponse
    expect(status).toMatchObject({ stale: false, provider: { reachable: true, lastError: null } })
    expect(status.newest?.weekDate).toBe(thisMonday)
  })

  it('answers a provider failure on refresh with the provider’s reason', async () => {
    // The set the previous test fetched is fresh: age it so that a refresh is due and calls out.
    await database.db.execute(
      sql`update fx_rate_sets set fetched_at = fetched_at - interval '8 days' where week_date = ${thisMonday}`,
    )
    const broken = createTestApp(database, { CURRENCY_API_URL: sb.fxUrl, CURRENCY_API_KEY: 'revoked-key' })
    const res = await broken.app.request('/api/v1/fx/refresh', {
      method: 'POST',
      headers: await asWidget(broken.config, ORG, ADMIN),
    })
    expect(res.status).toBe(502)
    const body = (await res.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('FX_AUTH')
    expect(body.error.message).toMatch(/CURRENCY_API_KEY/)
  })
})
