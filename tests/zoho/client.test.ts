import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { clientForOrg, type ZohoRestClient } from '../../api/src/zoho/client'
import { TokenRegistry } from '../../api/src/zoho/connection'
import { ZohoApiError, ZohoNetworkError } from '../../api/src/zoho/errors'
import { testDbKind } from '../helpers/db'
import { connect, crmCalls, startZohoTestEnv, type ZohoTestEnv } from './setup'

/** The CRM client against the sandbox Zoho server over real HTTP: the rules of reference §2 and §5. */
describe(`Zoho client against the sandbox (${testDbKind})`, () => {
  let env: ZohoTestEnv
  let orgId: string
  const client = (extra: Parameters<typeof clientForOrg>[4] = {}): Promise<ZohoRestClient> =>
    clientForOrg(env.database.db, env.config, orgId, fetch, {
      sleep: env.sleep,
      registry: new TokenRegistry(),
      ...extra,
    })

  beforeAll(async () => {
    env = await startZohoTestEnv({ deals: 2300, dailyCredits: 100_000 })
    orgId = await connect(env)
  })
  afterAll(() => env.close())
  beforeEach(() => {
    env.sandbox.setFaults({})
    env.sandbox.resetCalls()
    env.slept.length = 0
  })

  it('authenticates with the Zoho-oauthtoken prefix (Bearer is refused by Zoho)', async () => {
    const c = await client()
    const org = await c.getOrg()
    expect(org).toMatchObject({ id: orgId, iso_code: 'USD', mc_status: true })
    const bearer = await fetch(`${env.sandbox.apiDomain}/crm/v8/org`, {
      headers: { authorization: 'Bearer x' },
    })
    expect(bearer.status).toBe(401)
    expect(((await bearer.json()) as { code: string }).code).toBe('AUTHENTICATION_FAILURE')
  })

  it('always sends fields, and a listing without them is a typed 400, not retried', async () => {
    const c = await client()
    const page = await c.listDeals({ fields: ['Deal_Name'], perPage: 5 })
    expect(page.data).toHaveLength(5)
    const sent = crmCalls(env.sandbox).find((x) => x.path === '/crm/v8/Deals')!
    expect(sent.query.fields!.split(',')).toEqual(
      expect.arrayContaining(['Deal_Name', 'Stage', 'Amount', 'Modified_Time']),
    )

    env.sandbox.resetCalls()
    const err = (await c.get('/Deals').catch((e: unknown) => e)) as ZohoApiError
    expect(err).toBeInstanceOf(ZohoApiError)
    expect(err).toMatchObject({ status: 400, code: 'REQUIRED_PARAM_MISSING', details: { param: 'fields' } })
    expect(crmCalls(env.sandbox)).toHaveLength(1)
    expect(env.slept).toEqual([])
  })

  it('reads more than 50 fields by merging ≤ 50-field calls on id', async () => {
    const c = await client()
    const custom = Array.from({ length: 55 }, (_, i) => `Not_A_Field_${i}`)
    const page = await c.listDeals({ fields: [...custom, 'Pipeline', 'Account_Name'], perPage: 20 })
    expect(page.data).toHaveLength(20)
    for (const call of crmCalls(env.sandbox))
      expect(call.query.fields!.split(',').length).toBeLessThanOrEqual(50)
    expect(crmCalls(env.sandbox).length).toBe(2)
    const byId = new Map([...env.sandbox.deals()].map((d) => [d.id, d]))
    for (const d of page.data) {
      const truth = byId.get(d.id)!
      expect(d.Pipeline).toBe(truth.Pipeline)
      expect(d.Account_Name?.id).toBe((truth.Account_Name as { id: string } | null)?.id)
    }
  })

  it('pages past 2,000 records with page_token; page numbers stop at 2,000', async () => {
    const c = await client()
    const ids = new Set<string>()
    let pageToken: string | undefined
    let pages = 0
    for (;;) {
      const page = await c.listDeals({ fields: ['Deal_Name'], pageToken, sortBy: 'id', sortOrder: 'asc' })
      pages++
      page.data.forEach((d) => ids.add(d.id))
      if (!page.info.more_records) break
      pageToken = page.info.next_page_token!
      expect(pageToken).toBeTruthy()
    }
    expect(ids.size).toBe([...env.sandbox.deals()].length)
    expect(ids.size).toBeGreaterThan(2000)
    expect(pages).toBe(Math.ceil(ids.size / 200))
    // Zoho binds a page_token to the exact parameters of the request that issued it: no request of
    // the chain, the first included, may carry `page` (else TOKEN_BOUND_DATA_MISMATCH on page 2).
    const chain = crmCalls(env.sandbox).filter((x) => x.path === '/crm/v8/Deals')
    expect(chain).toHaveLength(pages)
    expect(chain.filter((x) => 'page' in x.query)).toEqual([])
    expect(chain.map((x) => x.status).every((st) => st === 200)).toBe(true)

    const err = (await c
      .listDeals({ fields: ['Deal_Name'], page: 11 })
      .catch((e: unknown) => e)) as ZohoApiError
    expect(err).toMatchObject({ status: 400, code: 'DISCRETE_PAGINATION_LIMIT_EXCEEDED' })
  })

  it('reports an expired page_token as a 400 the sync restarts from (EXPIRED_VALUE)', async () => {
    const c = await client()
    const first = await c.listDeals({ fields: ['Deal_Name'] })
    env.sandbox.expirePageTokens()
    const err = (await c
      .listDeals({ fields: ['Deal_Name'], pageToken: first.info.next_page_token! })
      .catch((e: unknown) => e)) as ZohoApiError
    expect(err).toBeInstanceOf(ZohoApiError)
    expect(err.code).toBe('EXPIRED_VALUE')
    expect(err.restartPagination).toBe(true)
  })

  it('treats 304 and 204 (empty bodies) as empty pages', async () => {
    const c = await client()
    const future = await c.listDeals({ fields: ['Deal_Name'], modifiedSince: '2099-01-01T00:00:00+08:00' })
    expect(future).toEqual({ data: [], info: { more_records: false }, status: 'not_modified' })
    const ims = crmCalls(env.sandbox).at(-1)!
    expect(ims.status).toBe(304)
    expect(await c.getPipelines('1')).toEqual([])
    expect(await c.getDealsByIds(['999999999999999999'], ['Deal_Name'])).toEqual([])
    expect(crmCalls(env.sandbox).map((x) => x.status)).toEqual([304, 204, 204])
  })

  it('sends If-Modified-Since without milliseconds and gets only newer deals', async () => {
    const c = await client()
    const id = env.sandbox.createDeal({ Deal_Name: 'Fresh one' })
    const since = new Date(Date.now() - 60_000)
    const page = await c.listDeals({
      fields: ['Deal_Name'],
      modifiedSince: since.toISOString(),
      sortBy: 'Modified_Time',
      sortOrder: 'asc',
    })
    expect(page.status).toBe('ok')
    expect(page.data.map((d) => d.id)).toContain(id)
    expect(page.data.every((d) => Date.parse(d.Modified_Time) >= since.getTime() - 1000)).toBe(true)
  })

  it('parses money exactly as the server wrote it', async () => {
    const c = await client()
    const [a] = await c
      .listDeals({ fields: ['Deal_Name'], perPage: 1, sortBy: 'id', sortOrder: 'asc' })
      .then((p) => p.data)
    env.sandbox.editDeal(a!.id, { Amount: 12345678901234.57, Exchange_Rate: 1.123456789 })
    const [b] = await c.getDealsByIds([a!.id], ['Exchange_Rate', 'Currency'])
    expect(b!.Amount).toBe('12345678901234.57')
    expect(b!.Exchange_Rate).toBe('1.123456789')
    const sample = (await c.listDeals({ fields: ['Expected_Revenue'], perPage: 200 })).data
    const truth = new Map([...env.sandbox.deals()].map((d) => [d.id, d]))
    for (const d of sample) {
      const t = truth.get(d.id)!
      expect(d.Amount).toBe(t.Amount === null ? null : String(t.Amount))
      expect(d.Closing_Date).toMatch(/^\d{4}-\d{2}-\d{2}$/)
      expect(d.Modified_Time).toMatch(/[+-]\d{2}:\d{2}$/)
    }
  })

  it('retries 429 and 5xx with full-jitter backoff, then succeeds', async () => {
    const c = await client({ maxRetries: 6 })
    env.sandbox.setFaults({ rate429: 0.25, rate5xx: 0.25, seed: 7 })
    const users = await c.getUsers('AllUsers')
    const roles = await c.getRoles()
    const pages = []
    for (let p = 1; p <= 6; p++) pages.push(await c.listDeals({ fields: ['Deal_Name'], page: p }))
    expect(users.length).toBeGreaterThan(0)
    expect(roles.length).toBeGreaterThan(0)
    expect(pages.map((p) => p.data.length)).toEqual([200, 200, 200, 200, 200, 200])
    const statuses = crmCalls(env.sandbox).map((x) => x.status)
    const failed = statuses.filter((s) => s === 429 || s >= 500).length
    expect(failed).toBeGreaterThan(0)
    expect(env.slept).toHaveLength(failed)
    expect(c.stats.calls).toBe(statuses.length)
    // Full jitter: each delay is within [0, cap) where cap doubles per retry from 1 s (2 s for 429).
    for (const ms of env.slept) expect(ms).toBeLessThan(60_000)
  })

  it('gives up after maxRetries with the last error', async () => {
    const c = await client({ maxRetries: 2 })
    env.sandbox.setFaults({ rate5xx: 1 })
    const err = (await c.getOrg().catch((e: unknown) => e)) as ZohoApiError
    expect(err).toMatchObject({ status: 500, code: 'INTERNAL_ERROR' })
    expect(crmCalls(env.sandbox)).toHaveLength(3)
    expect(env.slept).toHaveLength(2)
  })

  it('retries a connection dropped mid-body', async () => {
    const c = await client()
    env.sandbox.setFaults({ dropConnectionEvery: 2 })
    const pages = []
    for (let p = 1; p <= 3; p++) pages.push(await c.listDeals({ fields: ['Deal_Name'], page: p }))
    expect(pages.map((p) => p.data.length)).toEqual([200, 200, 200])
    expect(c.stats.calls).toBeGreaterThan(3)
    expect(env.slept.length).toBe(c.stats.calls - 3)

    env.sandbox.setFaults({ dropConnectionEvery: 1 })
    const c2 = await client({ maxRetries: 1 })
    await expect(c2.getRoles()).rejects.toBeInstanceOf(ZohoNetworkError)
  })

  it('counts every call and reads X-API-CREDITS-REMAINING', async () => {
    const c = await client()
    expect(c.stats).toEqual({ calls: 0, creditsRemaining: null })
    await c.getOrg()
    await c.getStagePicklist()
    expect(c.stats.calls).toBe(2)
    expect(crmCalls(env.sandbox)).toHaveLength(2)
  })

  it('reads the org metadata the sync needs', async () => {
    const c = await client()
    const [org, users, current, roles, profiles, layouts, picklist, currencies, deleted] = await Promise.all([
      c.getOrg(),
      c.getUsers('AllUsers'),
      c.getCurrentUser(),
      c.getRoles(),
      c.getProfiles(),
      c.getLayouts('Deals'),
      c.getStagePicklist(),
      c.getCurrencies(),
      c.listDeletedDeals({}),
    ])
    expect(org.id).toBe(orgId)
    expect(users.map((u) => u.id)).toContain(env.sandbox.users.admin.id)
    expect(current.id).toBe(env.sandbox.users.admin.id)
    expect(roles.some((r) => r.reporting_to === null)).toBe(true)
    expect(profiles.map((p) => p.name)).toContain('Administrator')
    expect(layouts.length).toBeGreaterThan(0)
    const pipelines = await c.getPipelines(layouts[0]!.id)
    expect(pipelines.length).toBeGreaterThan(0)
    expect(pipelines[0]!.maps.length).toBeGreaterThan(0)
    expect(picklist.some((v) => v.deal_category === 'Closed Won' || v.forecast_type === 'Closed Won')).toBe(
      true,
    )
    expect(picklist.every((v) => v.probability === null || typeof v.probability === 'number')).toBe(true)
    expect(currencies!.map((x) => x.iso_code)).toContain('USD')
    expect(currencies!.every((x) => /^\d+\.\d+$/.test(x.exchange_rate))).toBe(true)
    expect(deleted.data).toEqual([])

    const [deal] = (await c.listDeals({ fields: ['Deal_Name'], perPage: 1 })).data
    env.sandbox.deleteDeal(deal!.id)
    const after = await c.listDeletedDeals({})
    expect(after.data.map((d) => d.id)).toContain(deal!.id)
    const history = await c.getStageHistory(
      (await c.listDeals({ fields: ['Deal_Name'], perPage: 1 })).data[0]!.id,
    )
    expect(history.length).toBeGreaterThan(0)
    expect(history[0]!.Stage).toBeTruthy()
  })
})

describe(`Zoho credits header (${testDbKind})`, () => {
  it('keeps the credits Zoho reports once half the daily allowance is used', async () => {
    const env = await startZohoTestEnv({ deals: 50, dailyCredits: 20 })
    try {
      const orgId = await connect(env) // 1 CRM call (GET /org)
      const c = await clientForOrg(env.database.db, env.config, orgId, fetch, {
        registry: new TokenRegistry(),
      })
      for (let i = 0; i < 6; i++) await c.getRoles()
      expect(c.stats.creditsRemaining).toBeNull() // 7 of 20 used: under half, no header yet
      for (let i = 0; i < 6; i++) await c.getRoles()
      expect(c.stats.calls).toBe(12)
      expect(c.stats.creditsRemaining).toBe(20 - 13)
    } finally {
      await env.close()
    }
  })
})
