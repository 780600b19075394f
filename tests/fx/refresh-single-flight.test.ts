import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { fxRefreshResponse, type FxRefreshResponse } from '#shared/contracts/fx'
import type { Database } from '../../api/src/db/client'
import { fxJob } from '../../api/src/fx/job'
import { listRateSets, saveRateSet } from '../../api/src/fx/store'
import { mondayOf, utcDate } from '../../api/src/fx/week'
import { startSandbox, type Sandbox } from '../../api/src/sandbox'
import { createTestApp } from '../helpers/app'
import { asWidget } from '../helpers/auth'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { insertDeals, insertOrg, insertUser, silentLogger } from './helpers'

/*
 * Refreshes started together while one is due (two admins, or an admin and the weekly job) share
 * the Currency Freaks quota: exactly one of them calls the provider, and the other reports the set
 * it stored (or, the job, that a refresh is running). The sandbox provider answers slowly, so the
 * refreshes really overlap.
 */
const ORG = '9007199254740996001'
const ADMIN = '9007199254740996101'
const ADMIN2 = '9007199254740996102'
const DAY = 86_400_000

describe(`one FX refresh at a time (${testDbKind})`, () => {
  let database: Database
  let sb: Sandbox
  let app: ReturnType<typeof createTestApp>
  const latestCalls = () => sb.calls.filter((c) => c.service === 'fx' && c.path.endsWith('/rates/latest'))

  beforeAll(async () => {
    database = await createTestDatabase()
    sb = await startSandbox({ deals: 5, faults: { services: ['fx'], latencyMs: 300 } })
    await insertOrg(database.db, ORG, 'USD')
    await insertUser(database.db, ORG, ADMIN, true)
    await insertUser(database.db, ORG, ADMIN2, true)
    await insertDeals(database.db, ORG, [
      { id: '1', amount: '1000', currency: 'EUR', state: 'open', closingDate: '2027-01-15' },
    ])
    app = createTestApp(database, { CURRENCY_API_URL: sb.fxUrl, CURRENCY_API_KEY: sb.fxApiKey })
  })
  beforeEach(async () => {
    // The newest set is 8 days old: a refresh is due (CURRENCY_CACHE_DAYS 7).
    await database.db.execute(sql`delete from fx_rate_sets`)
    await database.db.execute(sql`delete from fx_provider_status`)
    await database.db.execute(sql`delete from fx_refresh_claims`)
    const fetched = new Date(Date.now() - 8 * DAY)
    await saveRateSet(database.db, {
      weekDate: mondayOf(utcDate(fetched)),
      kind: 'latest',
      providerDate: fetched,
      fetchedAt: fetched,
      rates: { USD: '1', SGD: '1.3', EUR: '0.95' },
    })
    sb.resetCalls()
  })
  afterAll(async () => {
    await sb?.close()
    await database?.close()
  })

  const refresh = async (userId: string) => {
    const res = await app.app.request('/api/v1/fx/refresh', {
      method: 'POST',
      headers: await asWidget(app.config, ORG, userId),
    })
    const json: unknown = await res.json()
    if (res.status !== 200) throw new Error(`refresh answered ${res.status}: ${JSON.stringify(json)}`)
    return { status: res.status, body: fxRefreshResponse.parse(json) as FxRefreshResponse }
  }

  it('two admins refreshing together make one provider call and report the same set', async () => {
    const [a, b] = await Promise.all([refresh(ADMIN), refresh(ADMIN2)])
    expect(latestCalls()).toHaveLength(1)
    expect([a.status, b.status]).toEqual([200, 200])
    expect([a.body.refreshed, b.body.refreshed].sort()).toEqual([false, true])
    expect(a.body.set).toEqual(b.body.set)
    expect(a.body.set.weekDate).toBe(mondayOf(utcDate(new Date())))
    // this week's set, stored once, is the one both report
    const sets = await listRateSets(database.db)
    expect(sets.filter((s) => s.fetchedAt > a.body.set.fetchedAt)).toEqual([])
    expect(sets.at(-1)).toMatchObject({ weekDate: a.body.set.weekDate, fetchedAt: a.body.set.fetchedAt })
  })

  it('the weekly job and an admin refreshing together make one provider call', async () => {
    const jobCtx = {
      config: app.config,
      db: database.db,
      logger: silentLogger,
      fetch: globalThis.fetch,
      now: () => new Date(),
    }
    const [job, admin] = await Promise.all([fxJob(jobCtx), refresh(ADMIN)])
    expect(latestCalls()).toHaveLength(1)
    expect(admin.status).toBe(200)
    // Whichever ran first fetched the set; the admin sees it either way, and the job says so.
    expect(admin.body.set.weekDate).toBe(mondayOf(utcDate(new Date())))
    if (admin.body.refreshed) expect(job).toMatchObject({ alreadyRunning: true, calls: 0 })
    else expect(job).toMatchObject({ week: admin.body.set.weekDate, calls: 1 })
  })

  it('a claim left by a refresh that died expires, and a later refresh takes it over', async () => {
    await database.db.execute(
      sql`insert into fx_refresh_claims (name, holder, claimed_at)
          values ('latest', 'a process that died', now() - interval '10 minutes')`,
    )
    const r = await refresh(ADMIN)
    expect(r.body.refreshed).toBe(true)
    expect(latestCalls()).toHaveLength(1)
  })
})
