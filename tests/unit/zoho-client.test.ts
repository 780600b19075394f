import { describe, expect, it } from 'vitest'
import { ZohoApiError, ZohoBudgetError } from '../../api/src/zoho/errors'
import {
  CallBudget,
  chunkFields,
  createZohoClient,
  formatModifiedSince,
  pageInfoAtEnd,
  REQUIRED_DEAL_FIELDS,
  type TokenSource,
} from '../../api/src/zoho/client'

/**
 * Client rules that need no server: field chunking and merge, If-Modified-Since format, the budget,
 * the concurrency cap. Zoho's API is the edge here, answered by a small scripted stand-in; the
 * full behaviour against the sandbox Zoho server over HTTP is in tests/zoho/.
 */

const tokens: TokenSource = { get: async () => 'tok', invalidate: async () => 'tok2' }
const deal = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  Deal_Name: `D${id}`,
  Stage: 'Qualification',
  Amount: 10.5,
  Probability: 10,
  Closing_Date: '2024-07-01',
  Owner: { id: '1', name: 'O' },
  Created_Time: '2024-06-05T02:04:09-07:00',
  Modified_Time: '2024-06-05T02:04:09-07:00',
  ...extra,
})

function fakeZoho(handler: (url: URL, headers: Headers) => Response | Promise<Response>) {
  const requests: { url: URL; headers: Headers }[] = []
  const fetch = (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(String(input))
    const headers = new Headers(init.headers)
    requests.push({ url, headers })
    return handler(url, headers)
  }) as typeof globalThis.fetch
  return { fetch, requests }
}
const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })

describe('Zoho client (no server)', () => {
  it('formats If-Modified-Since without milliseconds, keeping an offset', () => {
    expect(formatModifiedSince('2024-01-05T10:20:30+05:30')).toBe('2024-01-05T10:20:30+05:30')
    expect(formatModifiedSince('2024-01-05T10:20:30.987+05:30')).toBe('2024-01-05T10:20:30+05:30')
    expect(formatModifiedSince(new Date('2024-01-05T04:50:30.123Z'))).toBe('2024-01-05T04:50:30Z')
    expect(formatModifiedSince('2024-01-05 04:50:30Z')).toBe('2024-01-05T04:50:30Z')
    expect(() => formatModifiedSince('yesterday')).toThrow()
  })

  it('splits fields into calls of at most 50, the required ones first, id never sent', () => {
    const many = Array.from({ length: 120 }, (_, i) => `F${i}`)
    const chunks = chunkFields(['id', ...many, 'Stage'], REQUIRED_DEAL_FIELDS)
    expect(chunks.map((c) => c.length)).toEqual([50, 50, 28])
    expect(chunks[0]!.slice(0, REQUIRED_DEAL_FIELDS.length)).toEqual([...REQUIRED_DEAL_FIELDS])
    expect(chunks.flat()).not.toContain('id')
    expect(new Set(chunks.flat()).size).toBe(128)
  })

  it('fetches more than 50 fields in chunks and merges them by id', async () => {
    const extra = Array.from({ length: 60 }, (_, i) => `Custom_${i}`)
    const z = fakeZoho((url) => {
      const fields = url.searchParams.get('fields')!.split(',')
      expect(fields.length).toBeLessThanOrEqual(50)
      const ids = url.searchParams.get('ids')?.split(',') ?? ['11', '12']
      const rows = ids.map((id) => {
        const full: Record<string, unknown> = deal(id)
        for (const f of extra) full[f] = `${f}@${id}`
        return Object.fromEntries([['id', id], ...fields.map((f) => [f, full[f]])])
      })
      return json({ data: rows, info: { more_records: false, per_page: 200, page: 1, count: rows.length } })
    })
    const client = createZohoClient({ apiDomain: 'https://www.zohoapis.com', tokens, fetch: z.fetch })
    const page = await client.listDeals({ fields: extra })
    expect(page.status).toBe('ok')
    expect(page.data).toHaveLength(2)
    expect(page.data[1]).toMatchObject({
      id: '12',
      Amount: '10.5',
      Custom_0: 'Custom_0@12',
      Custom_59: 'Custom_59@12',
    })
    // 1 page call + 1 by-ids call for the second chunk (8 required + 60 = 68 fields).
    expect(z.requests).toHaveLength(2)
    expect(z.requests[1]!.url.searchParams.get('ids')).toBe('11,12')
    expect(client.stats.calls).toBe(2)
  })

  it('validates and types every record of a one-chunk Deals page in the page parse', async () => {
    const body = (bad: Record<string, unknown>) =>
      `{"data":[${JSON.stringify(deal('11', { Deal_Name: null, Owner: { id: '1' } })).replace('10.5', '12345678901234.567')},` +
      `${JSON.stringify(deal('12', bad))}],"info":{"more_records":true,"next_page_token":"t2"}}`
    const bodies = [body({ Probability: '20' }), body({ Amount: 'ten' }), body({ id: undefined })]
    const z = fakeZoho(() => new Response(bodies.shift()!))
    const client = createZohoClient({ apiDomain: 'https://x', tokens, fetch: z.fetch })
    const page = await client.listDeals({ fields: ['Stage'] })
    expect(page.info).toEqual({ more_records: true, next_page_token: 't2' })
    expect(page.data[0]).toEqual({
      ...deal('11'),
      Deal_Name: null,
      Amount: '12345678901234.567',
      Owner: { id: '1', name: null },
    })
    expect(page.data[1]).toMatchObject({ id: '12', Amount: '10.5', Probability: 20 })
    for (const path of ['data.1.Amount: must be a decimal number', 'data.1.id: Invalid input']) {
      const err = await client.listDeals({ fields: ['Stage'] }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ZohoApiError)
      expect(err).toMatchObject({ code: 'UNEXPECTED_RESPONSE' })
      expect((err as Error).message).toContain(`Deals page: ${path}`)
    }
  })

  it('validates records fetched in several field chunks once they are merged', async () => {
    const extra = [...Array.from({ length: 50 }, (_, i) => `Custom_${i}`), 'Contact_Name']
    const z = fakeZoho((url) => {
      const fields = url.searchParams.get('fields')!.split(',')
      const rows = ['11', '12'].map((id) => {
        const full: Record<string, unknown> = {
          ...deal(id),
          Contact_Name: id === '12' ? { name: 'C' } : null,
        }
        return Object.fromEntries([['id', id], ...fields.map((f) => [f, full[f] ?? null])])
      })
      return json({ data: rows, info: { more_records: false } })
    })
    const client = createZohoClient({ apiDomain: 'https://x', tokens, fetch: z.fetch })
    const err = await client.listDeals({ fields: extra }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ZohoApiError)
    expect(err).toMatchObject({ code: 'UNEXPECTED_RESPONSE' })
    expect((err as Error).message).toContain('Deal 12: Contact_Name.id: ')
    expect(z.requests).toHaveLength(2)
  })

  it('sends page_token instead of page, caps per_page at 200, and sends sort and If-Modified-Since', async () => {
    const z = fakeZoho(() => new Response(null, { status: 304 }))
    const client = createZohoClient({ apiDomain: 'https://www.zohoapis.com/', tokens, fetch: z.fetch })
    const page = await client.listDeals({
      fields: ['Stage'],
      perPage: 1000,
      pageToken: 'tok123',
      sortBy: 'Modified_Time',
      sortOrder: 'asc',
      modifiedSince: '2024-01-05T10:20:30.500+05:30',
    })
    expect(page).toEqual({ data: [], info: { more_records: false }, status: 'not_modified' })
    const { url, headers } = z.requests[0]!
    expect(url.origin + url.pathname).toBe('https://www.zohoapis.com/crm/v8/Deals')
    expect(url.searchParams.get('per_page')).toBe('200')
    expect(url.searchParams.get('page_token')).toBe('tok123')
    expect(url.searchParams.has('page')).toBe(false)
    expect(url.searchParams.get('sort_by')).toBe('Modified_Time')
    expect(url.searchParams.get('sort_order')).toBe('asc')
    expect(headers.get('if-modified-since')).toBe('2024-01-05T10:20:30+05:30')
    expect(headers.get('authorization')).toBe('Zoho-oauthtoken tok')
  })

  it('never runs more calls at once than the concurrency cap', async () => {
    let inFlight = 0
    let peak = 0
    const z = fakeZoho(async () => {
      inFlight++
      peak = Math.max(peak, inFlight)
      await new Promise((r) => setTimeout(r, 5))
      inFlight--
      return json({
        org: [{ id: '1', company_name: 'A', time_zone: 'UTC', iso_code: 'USD', mc_status: false }],
      })
    })
    const client = createZohoClient({ apiDomain: 'https://x', tokens, fetch: z.fetch, concurrency: 3 })
    await Promise.all(Array.from({ length: 12 }, () => client.getOrg()))
    expect(peak).toBe(3)
    expect(client.stats.calls).toBe(12)
  })

  it('keeps to the hourly call budget: waits when the wait is short, else fails clearly', async () => {
    let clock = 0
    const slept: number[] = []
    const z = fakeZoho(() => json({ roles: [] }))
    const budget = new CallBudget(2)
    const client = createZohoClient({
      apiDomain: 'https://x',
      tokens,
      fetch: z.fetch,
      budget,
      now: () => clock,
      sleep: async (ms) => {
        slept.push(ms)
        clock += ms
      },
      maxBudgetWaitMs: 60_000,
    })
    await client.getRoles()
    clock = 3_590_000
    await client.getRoles()
    await client.getRoles() // waits 10 s for the first slot to free
    expect(slept).toEqual([10_000])
    const err = await client.getRoles().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ZohoBudgetError)
    expect((err as ZohoBudgetError).message).toMatch(/Hourly Zoho API budget of 2 calls/)
    expect(z.requests).toHaveLength(3)
  })

  it('turns an error envelope into a typed ZohoApiError and does not retry a 400', async () => {
    const z = fakeZoho(() =>
      json(
        {
          code: 'TOKEN_BOUND_DATA_MISMATCH',
          details: { param: 'page_token' },
          message: 'token bound',
          status: 'error',
        },
        400,
      ),
    )
    const client = createZohoClient({ apiDomain: 'https://x', tokens, fetch: z.fetch, sleep: async () => {} })
    const err = (await client
      .listDeals({ fields: ['Stage'], pageToken: 'p' })
      .catch((e: unknown) => e)) as ZohoApiError
    expect(err).toBeInstanceOf(ZohoApiError)
    expect(err).toMatchObject({
      status: 400,
      code: 'TOKEN_BOUND_DATA_MISMATCH',
      details: { param: 'page_token' },
    })
    expect(err.restartPagination).toBe(true)
    expect(err.message).not.toContain('page_token=p')
    expect(z.requests).toHaveLength(1)
  })

  it('backs off with full jitter: a random share of a cap that doubles, 429 starting higher', async () => {
    const statuses = [503, 503, 429, 200]
    const z = fakeZoho(() => {
      const s = statuses.shift()!
      return s === 200
        ? json({ roles: [] })
        : json({ code: 'X', details: {}, message: 'busy', status: 'error' }, s)
    })
    const slept: number[] = []
    const draws = [0.5, 0.999, 0.25]
    const client = createZohoClient({
      apiDomain: 'https://x',
      tokens,
      fetch: z.fetch,
      maxRetries: 3,
      baseDelayMs: 1000,
      random: () => draws.shift()!,
      sleep: async (ms) => {
        slept.push(ms)
      },
    })
    expect(await client.getRoles()).toEqual([])
    // caps: 1 s, 2 s (5xx), then 2 × 1 s × 4 = 8 s for the 429 on the third retry.
    expect(slept).toEqual([500, 1998, 2000])
    expect(client.stats.calls).toBe(4)
  })

  it('retries a 200 whose body was cut short, and never parses an empty 204', async () => {
    const bodies = ['{"roles":[{"id":"1","na', '{"roles":[{"id":"1","name":"CEO","reporting_to":null}]}']
    const z = fakeZoho((url) =>
      url.pathname.endsWith('/pipeline')
        ? new Response(null, { status: 204 })
        : new Response(bodies.shift()!),
    )
    const slept: number[] = []
    const client = createZohoClient({
      apiDomain: 'https://x',
      tokens,
      fetch: z.fetch,
      sleep: async (ms) => void slept.push(ms),
    })
    expect(await client.getRoles()).toEqual([{ id: '1', name: 'CEO', reporting_to: null }])
    expect(slept).toHaveLength(1)
    expect(await client.getPipelines('5')).toEqual([])
    expect(client.stats.calls).toBe(3)
  })

  it('answers null currencies when the org has no multi-currency', async () => {
    const z = fakeZoho(() =>
      json({ code: 'FEATURE_NOT_SUPPORTED', details: {}, message: 'not supported', status: 'error' }, 403),
    )
    const client = createZohoClient({ apiDomain: 'https://x', tokens, fetch: z.fetch })
    expect(await client.getCurrencies()).toBeNull()
  })

  it("reads a page's info off the end of its body only when the body ends with it", () => {
    const info = { call: false, per_page: 2, next_page_token: 'c85}82', count: 2, more_records: true }
    const page = { data: [deal('11', { Deal_Name: '"info":{"more_records":false}}' }), deal('12')], info }
    expect(pageInfoAtEnd(JSON.stringify(page))).toEqual(info)
    // Zoho's own layout (the reference sample): indented, info last.
    expect(pageInfoAtEnd(JSON.stringify(page, null, 2) + '\n')).toEqual(info)
    // Anything else is no hint at all: info first, info with an object inside, a body cut short,
    // an info that is not one (wrong types), not JSON.
    expect(pageInfoAtEnd(JSON.stringify({ info, data: page.data }))).toBeUndefined()
    expect(pageInfoAtEnd(JSON.stringify({ data: [], info: { ...info, extra: { a: 1 } } }))).toBeUndefined()
    expect(pageInfoAtEnd(JSON.stringify(page).slice(0, -1))).toBeUndefined()
    expect(pageInfoAtEnd('{"data":[],"info":{"more_records":"yes"}}')).toBeUndefined()
    expect(pageInfoAtEnd('{"data":[],"info":{"more_records":tru}}')).toBeUndefined()
  })

  it('hands a Deals page its info before parsing it, and lets the request it starts go out first', async () => {
    const order: string[] = []
    const z = fakeZoho((url) => {
      const token = url.searchParams.get('page_token')
      order.push(`request ${token ?? 'first'}`)
      if (token === 'next') return new Response(null, { status: 204 })
      return json({ data: [deal('11')], info: { more_records: true, next_page_token: 'next', count: 1 } })
    })
    const client = createZohoClient({ apiDomain: 'https://x', tokens, fetch: z.fetch })
    let second: Promise<unknown> | undefined
    const page = await client.listDeals(
      { fields: ['Stage'] },
      {
        onInfo: (info) => {
          order.push(`info ${info.next_page_token}`)
          second = client.listDeals(
            { fields: ['Stage'], pageToken: info.next_page_token! },
            {
              onInfo: () => {
                order.push('info of an empty page')
                return false
              },
            },
          )
          return true
        },
      },
    )
    order.push('parsed')
    expect(page.data.map((d) => d.id)).toEqual(['11'])
    expect(page.info.next_page_token).toBe('next')
    expect(await second).toMatchObject({ data: [], status: 'empty' })
    // The second request was made before the first page's records were parsed; a 204 has no info.
    expect(order).toEqual(['request first', 'info next', 'request next', 'parsed'])
  })
})
