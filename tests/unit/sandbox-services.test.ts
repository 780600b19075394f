import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fxRatesFor, startSandbox, type Sandbox } from '../../api/src/sandbox'

/** Response bodies in these tests are checked field by field, so read them untyped. */
const json = async (r: Response | Promise<Response>): Promise<any> => (await r).json()

async function accessToken(s: Sandbox, userId?: string) {
  const q = new URLSearchParams({
    grant_type: 'refresh_token',
    client_id: s.clientId,
    client_secret: s.clientSecret,
    refresh_token: s.issueRefreshToken(userId),
  })
  const body = await json(fetch(`${s.accountsUrl}/oauth/v2/token?${q}`, { method: 'POST' }))
  return { Authorization: `Zoho-oauthtoken ${body.access_token}` }
}

describe('sandbox Currency Freaks', () => {
  let paid: Sandbox
  let free: Sandbox
  beforeAll(async () => {
    ;[paid, free] = await Promise.all([
      startSandbox({ deals: 10 }),
      startSandbox({ deals: 10, fxPlan: 'free', fxQuota: 2 }),
    ])
  })
  afterAll(() => Promise.all([paid.close(), free.close()]))

  it('serves latest and historical USD-based string rates, honouring symbols and omitting MMK', async () => {
    const latest = await json(fetch(`${paid.fxUrl}/rates/latest?apikey=${paid.fxApiKey}`))
    expect(latest.base).toBe('USD')
    expect(latest.date).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\+00$/)
    expect(latest.rates.USD).toBe('1.0')
    expect(latest.rates.MMK).toBeUndefined()
    expect(Object.keys(latest.rates).length).toBeGreaterThanOrEqual(30)
    const h = await json(
      fetch(`${paid.fxUrl}/rates/historical?apikey=${paid.fxApiKey}&date=2025-06-11&symbols=SGD,EUR,MMK`),
    )
    expect(h).toEqual({
      date: '2025-06-11 00:00:00+00',
      base: 'USD',
      rates: { SGD: fxRatesFor('2025-06-09').SGD, EUR: fxRatesFor('2025-06-09').EUR },
    })
    const bad = await fetch(`${paid.fxUrl}/rates/latest?apikey=wrong`)
    expect(bad.status).toBe(401)
    expect(await json(bad)).toEqual({ error: 'Invalid API Key' })
  })

  it('refuses historical on the free plan and answers 429 past the quota', async () => {
    const hist = await fetch(`${free.fxUrl}/rates/historical?apikey=${free.fxApiKey}&date=2025-06-11`)
    expect(hist.status).toBe(403)
    expect((await fetch(`${free.fxUrl}/rates/latest?apikey=${free.fxApiKey}`)).status).toBe(200)
    expect((await fetch(`${free.fxUrl}/rates/latest?apikey=${free.fxApiKey}`)).status).toBe(429)
    expect(free.calls.filter((c) => c.service === 'fx').map((c) => c.status)).toEqual([403, 200, 429])
  })

  it('injects faults into the FX server only when asked to', async () => {
    const latest = () => fetch(`${paid.fxUrl}/rates/latest?apikey=${paid.fxApiKey}`)
    paid.setFaults({ rate5xx: 1 })
    expect((await latest()).status).toBe(200)
    paid.setFaults({ rate5xx: 1, services: ['fx'] })
    expect((await latest()).status).toBe(500)
    const crm = await fetch(`${paid.apiDomain}/crm/v8/org`, { headers: await accessToken(paid) })
    expect(crm.status).toBe(200)
    paid.setFaults({})
  })
})

describe('sandbox Watch API', () => {
  let s: Sandbox
  const received: { body: Record<string, unknown>; url: string }[] = []
  const hook = createServer((req: IncomingMessage, res) => {
    let data = ''
    req.on('data', (c) => (data += c))
    req.on('end', () => {
      received.push({ body: JSON.parse(data), url: req.url ?? '' })
      res.end()
    })
  })
  beforeAll(async () => {
    s = await startSandbox({ deals: 50 })
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r))
  })
  afterAll(async () => {
    await s.close()
    await new Promise((r) => hook.close(r))
  })

  it('subscribes a channel and POSTs Zoho-shaped callbacks echoing the token', async () => {
    const auth = await accessToken(s)
    const port = (hook.address() as AddressInfo).port
    const res = await fetch(`${s.apiDomain}/crm/v8/actions/watch`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        watch: [
          {
            channel_id: '1000000068001',
            events: ['Deals.all'],
            notify_url: `http://127.0.0.1:${port}/hook?conn=7`,
            token: 'chan-secret',
            return_affected_field_values: true,
          },
        ],
      }),
    })
    const body = await json(res)
    expect(body.watch[0]).toMatchObject({ code: 'SUCCESS', status: 'success' })
    // No expiry given: one hour.
    const expiry = Date.parse(body.watch[0].details.events[0].channel_expiry)
    expect(Math.abs(expiry - Date.now() - 3_600_000)).toBeLessThan(5000)

    const id = [...s.deals()].find((d) => d.Stage !== 'Closed Won')!.id as string
    s.editDeal(id, { Stage: 'Closed Won', Amount: 1200 })
    const created = s.createDeal({ Deal_Name: 'New one' })
    s.deleteDeal(created)
    await s.settleNotifications()
    expect(received.map((r) => r.body.operation)).toEqual(['update', 'insert', 'delete'])
    const update = received[0]!.body
    expect(update).toMatchObject({
      module: 'Deals',
      ids: [id],
      channel_id: '1000000068001',
      token: 'chan-secret',
      query_params: { conn: '7' },
      affected_values: [{ record_id: id, values: { Stage: 'Closed Won', Amount: 1200 } }],
    })
    expect((update.affected_fields as Record<string, string[]>[])[0]![id]!.sort()).toEqual([
      'Amount',
      'Stage',
    ])
    expect(received[0]!.url).toBe('/hook?conn=7')

    const list = await json(fetch(`${s.apiDomain}/crm/v8/actions/watch`, { headers: auth }))
    expect(list.watch.map((w: { channel_id: string }) => w.channel_id)).toEqual(['1000000068001'])
    const del = await fetch(`${s.apiDomain}/crm/v8/actions/watch?channel_ids=1000000068001`, {
      method: 'DELETE',
      headers: auth,
    })
    expect((await json(del)).watch[0].status).toBe('success')
    expect((await fetch(`${s.apiDomain}/crm/v8/actions/watch`, { headers: auth })).status).toBe(204)
  })
})

describe('sandbox CRM credits and page_token cap', () => {
  it('sends X-API-CREDITS-REMAINING past half the budget and 429 when spent', async () => {
    const s = await startSandbox({ deals: 10, dailyCredits: 6 })
    try {
      const auth = await accessToken(s)
      const seen: [number, string | null][] = []
      for (let i = 0; i < 7; i++) {
        const r = await fetch(`${s.apiDomain}/crm/v8/org`, { headers: auth })
        seen.push([r.status, r.headers.get('x-api-credits-remaining')])
      }
      expect(seen).toEqual([
        [200, null],
        [200, null],
        [200, null],
        [200, '2'],
        [200, '1'],
        [200, '0'],
        [429, '0'],
      ])
    } finally {
      await s.close()
    }
  })

  it('stops page_token pagination at the record limit', async () => {
    const s = await startSandbox({ deals: 700, pageTokenRecordLimit: 400 })
    try {
      const auth = await accessToken(s)
      let token: string | null = null
      let n = 0
      let last: Response
      for (;;) {
        last = await fetch(
          `${s.apiDomain}/crm/v8/Deals?fields=Amount&per_page=200${token ? `&page_token=${token}` : ''}`,
          {
            headers: auth,
          },
        )
        if (last.status !== 200) break
        const body = await json(last)
        n += body.data.length
        token = body.info.next_page_token
      }
      expect(n).toBe(400)
      expect(last.status).toBe(400)
      expect((await json(last)).code).toBe('PAGINATION_LIMIT_EXCEEDED')
    } finally {
      await s.close()
    }
  })
})
