import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startSandbox, type Sandbox } from '../../api/src/sandbox'

/** Response bodies in these tests are checked field by field, so read them untyped. */
const json = async (r: Response | Promise<Response>): Promise<any> => (await r).json()

let s: Sandbox
let auth: { Authorization: string }

beforeAll(async () => {
  s = await startSandbox({ deals: 2300, dailyCredits: 1_000_000 })
  auth = await login()
})
afterAll(() => s.close())
afterEach(() => s.setFaults({}))

async function login(userId?: string) {
  const rt = s.issueRefreshToken(userId)
  const q = new URLSearchParams({
    grant_type: 'refresh_token',
    client_id: s.clientId,
    client_secret: s.clientSecret,
    refresh_token: rt,
  })
  const body = await json(fetch(`${s.accountsUrl}/oauth/v2/token?${q}`, { method: 'POST' }))
  return { Authorization: `Zoho-oauthtoken ${body.access_token}` }
}

const crm = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${s.apiDomain}/crm/v8${path}`, { headers: { ...auth, ...headers } })

async function walk(query: string, headers: Record<string, string> = {}) {
  const ids: string[] = []
  let token: string | null = null
  let calls = 0
  do {
    const res = await crm(`/Deals?${query}${token ? `&page_token=${token}` : ''}`, headers)
    calls++
    if (res.status === 204) break
    const body = await json(res)
    ids.push(...body.data.map((d: { id: string }) => d.id))
    token = body.info.more_records ? body.info.next_page_token : null
  } while (token)
  return { ids, calls }
}

describe('sandbox CRM: Deals list rules', () => {
  it('requires fields, caps them at 50 and returns only the requested fields plus id', async () => {
    const missing = await crm('/Deals')
    expect(missing.status).toBe(400)
    expect((await json(missing)).code).toBe('REQUIRED_PARAM_MISSING')
    const many = Array.from({ length: 51 }, (_, i) => `F${i}`).join(',')
    const tooMany = await crm(`/Deals?fields=${many}`)
    expect(tooMany.status).toBe(400)
    expect((await json(tooMany)).code).toBe('LIMIT_EXCEEDED')
    const body = await json(crm('/Deals?fields=Amount,Closing_Date&per_page=3'))
    expect(body.data).toHaveLength(3)
    for (const d of body.data) expect(Object.keys(d).sort()).toEqual(['Amount', 'Closing_Date', 'id'])
    expect(body.info).toMatchObject({
      per_page: 3,
      count: 3,
      page: 1,
      sort_by: 'id',
      sort_order: 'desc',
      more_records: true,
    })
    // Default order is id descending.
    const ids = body.data.map((d: { id: string }) => BigInt(d.id))
    expect(ids[0] > ids[1] && ids[1] > ids[2]).toBe(true)
  })

  it('stops `page` at 2,000 records with the real error body', async () => {
    expect((await crm('/Deals?fields=Deal_Name&page=10&per_page=200')).status).toBe(200)
    const res = await crm('/Deals?fields=Deal_Name&page=11&per_page=200')
    expect(res.status).toBe(400)
    expect(await json(res)).toEqual({
      code: 'DISCRETE_PAGINATION_LIMIT_EXCEEDED',
      details: { limit: 2000 },
      message: 'You can only get the first 2000 records without using page_token param',
      status: 'error',
    })
  })

  it('walks every deal with page_token, in order, matching deals()', async () => {
    const { ids, calls } = await walk('fields=Deal_Name&per_page=200&sort_by=id&sort_order=asc')
    expect(calls).toBe(12)
    expect(ids).toEqual([...s.deals()].map((d) => d.id))
  })

  it('sends each record as its fields in the order asked, then id, byte for byte', async () => {
    const deals = [...s.deals()].slice(0, 30)
    // A known-to-JS name (toString), an unknown field, a repeat and id in the middle.
    for (const fields of [
      'Deal_Name,Stage,Amount,Probability,Closing_Date,Pipeline,Owner,Account_Name,Territory,Created_Time,Modified_Time,Last_Activity_Time,Currency,Exchange_Rate',
      'Amount,id,Nope,Stage,Amount',
      'toString,Owner',
    ]) {
      const res = await crm(`/Deals?fields=${fields}&per_page=30&sort_by=id&sort_order=asc`)
      const text = await res.text()
      const asked = [...new Set(fields.split(','))]
      const expected = deals.map((d) => {
        const out: Record<string, unknown> = {}
        for (const f of asked) if (f in d) out[f] = d[f]
        out.id = d.id
        return out
      })
      expect(res.headers.get('content-type')).toBe('application/json')
      expect(text).toBe(JSON.stringify({ data: expected, info: JSON.parse(text).info }))
    }
  })

  it('binds page_token to the parameters and refuses it with page', async () => {
    const first = await json(crm('/Deals?fields=Deal_Name&per_page=5&sort_by=Modified_Time'))
    const t = first.info.next_page_token
    expect(first.info.page_token_expiry).toMatch(/\+08:00$/)
    const mismatch = await crm(
      `/Deals?fields=Deal_Name,Stage&per_page=5&sort_by=Modified_Time&page_token=${t}`,
    )
    expect(mismatch.status).toBe(400)
    expect((await json(mismatch)).code).toBe('TOKEN_BOUND_DATA_MISMATCH')
    const both = await crm(`/Deals?fields=Deal_Name&per_page=5&sort_by=Modified_Time&page=2&page_token=${t}`)
    expect((await json(both)).code).toBe('AMBIGUITY_DURING_PROCESSING')
    const other = await crm(
      `/Deals?fields=Deal_Name&per_page=5&sort_by=Modified_Time&page_token=${t}`,
      await login(s.users.reps[0]!.id),
    )
    expect((await json(other)).code).toBe('INVALID_DATA')
    const ok = await crm(`/Deals?fields=Deal_Name&per_page=5&sort_by=Modified_Time&page_token=${t}`)
    expect((await json(ok)).info.page).toBe(2)
    s.expirePageTokens()
    const expired = await crm(`/Deals?fields=Deal_Name&per_page=5&sort_by=Modified_Time&page_token=${t}`)
    expect(expired.status).toBe(400)
    expect((await json(expired)).code).toBe('EXPIRED_VALUE')
  })

  it('binds page_token to `page` too, as Zoho binds every parameter of the issuing request', async () => {
    const q = 'fields=Deal_Name&per_page=5&sort_by=id&sort_order=asc'
    // A chain started with an explicit page=1 cannot continue: the follow-up must drop page
    // (page with page_token is AMBIGUITY_DURING_PROCESSING), and then the parameters differ.
    const withPage = await json(crm(`/Deals?${q}&page=1`))
    const t1 = withPage.info.next_page_token
    const mismatch = await crm(`/Deals?${q}&page_token=${t1}`)
    expect(mismatch.status).toBe(400)
    expect((await json(mismatch)).code).toBe('TOKEN_BOUND_DATA_MISMATCH')
    // The same chain without page on its first request pages on.
    const without = await json(crm(`/Deals?${q}`))
    const next = await json(crm(`/Deals?${q}&page_token=${without.info.next_page_token}`))
    expect(next.info.page).toBe(2)
    expect(next.data[0].id).toBe([...s.deals()][5]!.id)
  })

  it('filters by If-Modified-Since (304 when nothing changed) and sorts mutations last by Modified_Time', async () => {
    const since = new Date(Date.now() - 1000).toISOString().replace(/\.\d+Z$/, 'Z')
    const none = await crm('/Deals?fields=Stage', { 'If-Modified-Since': since })
    expect(none.status).toBe(304)
    expect(await none.text()).toBe('')
    const { edited, created, deleted } = s.mutateRandom({ edits: 3, creates: 2, deletes: 1 }, 5)
    const { ids } = await walk('fields=Stage&sort_by=Modified_Time&sort_order=asc', {
      'If-Modified-Since': since,
    })
    expect(new Set(ids)).toEqual(new Set([...edited, ...created].filter((id) => !deleted.includes(id))))
    const all = await walk('fields=Stage&per_page=200&sort_by=Modified_Time&sort_order=asc')
    expect(all.ids.slice(-ids.length)).toEqual(ids)
    const gone = await json(crm('/Deals/deleted?type=all'))
    expect(gone.data[0].id).toBe(deleted[0])
    expect(gone.data[0].deleted_time).toMatch(/\+08:00$/)
    // A permanent delete is listed with nulls in place of names, like Zoho's sample.
    const doomed = [...s.deals()][20]!.id as string
    s.deleteDeal(doomed, 'permanent')
    const permanent = await json(crm('/Deals/deleted?type=permanent'))
    expect(permanent.data.filter((d: { id: string }) => d.id === doomed)).toEqual([
      {
        id: doomed,
        display_name: null,
        type: 'permanent',
        deleted_time: expect.any(String),
        deleted_by: null,
        created_by: null,
      },
    ])
  })

  it('answers 204 with an empty body when nothing matches, and re-fetches by ids', async () => {
    const empty = await crm('/Deals?fields=Stage&ids=1234567890123456789')
    expect(empty.status).toBe(204)
    expect(await empty.text()).toBe('')
    const [a, b] = [...s.deals()].slice(5, 7).map((d) => d.id)
    const body = await json(
      crm(`/Deals?fields=Amount,Exchange_Rate,Closing_Date,Modified_Time&ids=${a},${b}`),
    )
    expect(body.data.map((d: { id: string }) => d.id)).toEqual([a, b])
    const raw = await (await crm(`/Deals?fields=Amount,Exchange_Rate&ids=${a}`)).text()
    expect(raw).toMatch(/"Exchange_Rate":\d/)
  })

  it('shows a non-admin only the deals they own', async () => {
    const rep = s.users.reps[1]!
    const mine = [...s.deals()].filter((d) => (d.Owner as { id: string }).id === rep.id).map((d) => d.id)
    const { ids } = await walk('fields=Owner&sort_by=id&sort_order=asc&per_page=50', await login(rep.id))
    expect(mine.length).toBeGreaterThan(10)
    expect(ids).toEqual(mine)
  })

  it('serves Stage_History (fields required) ending at the current stage', async () => {
    const deal = [...s.deals()][42]!
    expect((await crm(`/Deals/${deal.id}/Stage_History`)).status).toBe(400)
    const body = await json(
      crm(
        `/Deals/${deal.id}/Stage_History?fields=Stage,Amount,Probability,Close_Date,Expected_Revenue,Modified_Time,Modified_By`,
      ),
    )
    expect(body.data[0].Stage).toBe(deal.Stage)
    expect(Object.keys(body.data[0]).sort()).toEqual(
      [
        'Amount',
        'Close_Date',
        'Expected_Revenue',
        'Modified_By',
        'Modified_Time',
        'Probability',
        'Stage',
        'id',
      ].sort(),
    )
    expect(body.info).toMatchObject({ page: 1, more_records: false })
  })
})

describe('sandbox CRM: metadata', () => {
  it('serves org, users by type, layouts, pipelines (layout_id required), Stage picklist and currencies', async () => {
    const org = (await json(crm('/org'))).org[0]
    expect(org).toMatchObject({ id: s.orgId, time_zone: 'Asia/Singapore', iso_code: 'USD', mc_status: true })
    for (const [type, n] of [
      ['AllUsers', s.users.all.filter((u) => u.status !== 'deleted').length],
      ['DeactiveUsers', 1],
      ['DeletedUsers', 1],
      ['AdminUsers', 1],
      ['CurrentUser', 1],
    ] as const) {
      const body = await json(crm(`/users?type=${type}`))
      expect(body.users).toHaveLength(n)
    }
    const paged = await json(crm('/users?type=AllUsers&per_page=5&page=1'))
    expect(paged.info).toMatchObject({ per_page: 5, count: 5, more_records: true })
    const missing = await crm('/settings/pipeline')
    expect((await json(missing)).code).toBe('REQUIRED_PARAM_MISSING')
    const layout = (await json(crm('/settings/layouts?module=Deals'))).layouts[0]
    const pipelines = (await json(crm(`/settings/pipeline?layout_id=${layout.id}`))).pipeline
    expect(pipelines.map((p: { display_value: string }) => p.display_value)).toEqual([
      'Standard',
      'Enterprise',
    ])
    const fields = (await json(crm('/settings/fields?module=Deals'))).fields
    const stage = fields.find((f: { api_name: string }) => f.api_name === 'Stage')
    expect(stage.pick_list_values).toContainEqual(
      expect.objectContaining({
        display_value: 'Identify Decision Makers',
        actual_value: 'Id. Decision Makers',
        probability: 60,
        deal_category: 'Open',
      }),
    )
    const currencies = (await json(crm('/org/currencies'))).currencies
    const base = currencies.find((c: { is_base: boolean }) => c.is_base)
    expect(base).toMatchObject({ iso_code: 'USD', exchange_rate: '1.000000000' })
    for (const c of currencies) expect(c.exchange_rate).toMatch(/^\d+\.\d{9}$/)
  })
})

describe('sandbox CRM: faults and limits', () => {
  it('injects 429 without Retry-After, 500, and token expiry after N calls', async () => {
    s.setFaults({ rate429: 1 })
    const r429 = await crm('/org')
    expect(r429.status).toBe(429)
    expect(r429.headers.get('retry-after')).toBeNull()
    expect((await json(r429)).code).toBe('TOO_MANY_REQUESTS')
    s.setFaults({ rate5xx: 1 })
    const r500 = await crm('/org')
    expect(r500.status).toBe(500)
    expect((await json(r500)).code).toBe('INTERNAL_ERROR')
    s.setFaults({ expireTokenEveryCalls: 2 })
    const fresh = await login()
    expect((await crm('/org', fresh)).status).toBe(200)
    expect((await crm('/org', fresh)).status).toBe(200)
    const dead = await crm('/org', fresh)
    expect(dead.status).toBe(401)
    expect((await json(dead)).code).toBe('INVALID_TOKEN')
  })

  it('draws the same faults from the same seed', async () => {
    const run = async () => {
      s.setFaults({ rate429: 0.3, rate5xx: 0.2, seed: 11 })
      const out: number[] = []
      for (let i = 0; i < 12; i++) out.push((await crm('/org')).status)
      return out
    }
    const a = await run()
    expect(a).toEqual(await run())
    expect(new Set(a)).toEqual(new Set([200, 429, 500]))
  })

  it('drops the connection in the middle of a body', async () => {
    s.setFaults({ dropConnectionEvery: 1 })
    const res = await crm('/Deals?fields=Deal_Name')
    await expect(res.text()).rejects.toThrow()
  })
})

describe('sandbox control API and call log', () => {
  it('mutates over HTTP and logs every request', async () => {
    s.resetCalls()
    const res = await fetch(`${s.url}/__sandbox/mutate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ edits: 2, creates: 1 }),
    })
    const out = await json(res)
    expect(out.edited).toHaveLength(2)
    expect(out.created).toHaveLength(1)
    await crm('/org')
    expect(s.calls.map((c) => [c.service, c.method, c.path, c.status])).toEqual([
      ['sandbox', 'POST', '/__sandbox/mutate', 200],
      ['crm', 'GET', '/crm/v8/org', 200],
    ])
  })
})
