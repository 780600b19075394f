import type { z } from 'zod'
import type { Config } from '../config'
import type { Db } from '../db/client'
import type { Logger } from '../observability/logger'
import { createTokenProvider, loadConnection, type TokenProviderOptions } from './connection'
import { HOUR_MS, recentZohoCalls } from './call-minutes'
import {
  ZohoApiError,
  ZohoBudgetError,
  ZohoConnectionError,
  ZohoNetworkError,
  ZohoRateLimitError,
} from './errors'
import { trimBase } from './oauth'
import {
  currenciesSchema,
  dealSchema,
  dealsPageSchema,
  deletedPageSchema,
  errorEnvelopeSchema,
  fieldsSchema,
  layoutsSchema,
  orgEnvelopeSchema,
  pageInfoSchema,
  parseZohoJson,
  pipelinesSchema,
  profilesSchema,
  recordsPageSchema,
  rolesSchema,
  stageHistoryPageSchema,
  usersPageSchema,
  type ZohoField,
} from './schemas'
import type {
  ListDealsOptions,
  ListDealsParams,
  ZohoCallStats,
  ZohoClient,
  ZohoDealRecord,
  ZohoDealsPage,
  ZohoPageInfo,
  ZohoStageHistoryRow,
  ZohoUser,
  ZohoUserType,
} from './types'

/**
 * The Zoho CRM v8 REST client for one connected org. Everything here follows Zoho's documented
 * behaviour (reference/zoho-crm-api.md), nothing is sandbox-specific:
 * `Zoho-oauthtoken` header; `fields` always sent (≤ 50 a call, wider lists merged by id); per_page
 * ≤ 200; 204/304 are empty pages; 429/5xx/network errors retried with full-jitter backoff (a 429
 * outlasting them thrown as ZohoRateLimitError); 400s
 * thrown as ZohoApiError; one refresh-and-replay on 401 INVALID_TOKEN; a concurrency cap and an
 * hourly call budget; every HTTP call counted and X-API-CREDITS-REMAINING kept.
 */

/** Where access tokens come from (connection.ts's provider, or anything with the same shape). */
export interface TokenSource {
  /** A currently valid access token (refreshed ahead of expiry). */
  get(): Promise<string>
  /** Zoho rejected `rejected` (401 INVALID_TOKEN): a fresh token, refreshed once for all callers. */
  invalidate(rejected: string): Promise<string>
  /** Zoho said re-authorizing is the only fix (OAUTH_SCOPE_MISMATCH). */
  markBroken?(reason: string): Promise<void>
}

/**
 * Calls allowed per rolling hour. `spent`: the calls made already ({at: ms, calls}, oldest first),
 * by this process or another (recentZohoCalls).
 */
export class CallBudget {
  private times: number[] = []
  constructor(
    readonly perHour: number,
    spent: { at: number; calls: number }[] = [],
  ) {
    for (const m of spent)
      for (let i = 0; i < m.calls && this.times.length < perHour; i++) this.times.push(m.at)
  }
  /** Takes a slot and answers 0, or answers how many ms until one frees up. */
  take(now: number): number {
    while (this.times.length && this.times[0]! <= now - HOUR_MS) this.times.shift()
    if (this.times.length < this.perHour) {
      this.times.push(now)
      return 0
    }
    return this.times[0]! + HOUR_MS - now
  }
}

/** What the client reads of a response: fetch's Response narrowed to it. */
export interface ZohoHttpResponse {
  status: number
  ok: boolean
  headers: { get(name: string): string | null }
  text(): Promise<string>
}

/** One HTTP exchange as the client makes it; fetch is one (Workers), node-http.ts another (Node). */
export type ZohoHttp = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
) => Promise<ZohoHttpResponse>

export interface ZohoClientOptions {
  /** `api_domain` of the connection, e.g. https://www.zohoapis.eu (a configured server may have a path). */
  apiDomain: string
  tokens: TokenSource
  fetch: typeof fetch
  /** The CRM calls' HTTP, when not fetch (Node: nodeZohoHttp, cheaper per page). */
  http?: ZohoHttp
  /** Retries after 429/5xx/network errors (SYNC_MAX_RETRIES). Default 3. */
  maxRetries?: number
  /** Client-side call budget per rolling hour (API_RATE_LIMIT_PER_HOUR). Default 1000. */
  ratePerHour?: number
  /** Share one budget between clients of the same org (clientForOrg does). */
  budget?: CallBudget
  /** Wait at most this long for the hourly budget; beyond it throw ZohoBudgetError. Default 60 s. */
  maxBudgetWaitMs?: number
  /** Simultaneous calls in flight. Default 5 (half the smallest paid edition's limit). */
  concurrency?: number
  /** Backoff base and cap: delay = random() × min(cap, base × 2^attempt); 429 starts at 2 × base. */
  baseDelayMs?: number
  maxDelayMs?: number
  sleep?: (ms: number) => Promise<void>
  random?: () => number
  now?: () => number
  logger?: Logger
  /** Custom currency fields to parse losslessly besides Amount/Exchange_Rate/Expected_Revenue. */
  moneyFields?: readonly string[]
}

/** The agreed interface plus a few extras the sync may use. */
export interface ZohoRestClient extends ZohoClient {
  /** Fields metadata of a module (to plan `fields` chunks, find currency fields). */
  getFields(module: string): Promise<ZohoField[]>
  /** A raw GET on /crm/v8/<path>, with the same retries, budget and counting. */
  get(
    path: string,
    query?: Record<string, string | undefined>,
    headers?: Record<string, string>,
  ): Promise<ZohoResponse>
  /** Any method on /crm/v8/<path> (a JSON `body` if given), with the same retries, budget and counting. */
  request(method: string, path: string, opts?: ZohoRequestOptions): Promise<ZohoResponse>
}

export interface ZohoRequestOptions {
  query?: Record<string, string | undefined>
  body?: unknown
  headers?: Record<string, string>
}

export interface ZohoResponse {
  status: number
  /** Parsed body (money exact); null for 204/304 or an empty body. */
  body: unknown
  headers: ZohoHttpResponse['headers']
}

export const MAX_FIELDS_PER_CALL = 50
export const MAX_PER_PAGE = 200
/** ids per `GET /Deals?ids=` call (the documented cap is unconfirmed; 100 is what is typical). */
export const MAX_IDS_PER_CALL = 100
/** Always requested, so every record satisfies ZohoDealRecord. */
export const REQUIRED_DEAL_FIELDS = [
  'Deal_Name',
  'Stage',
  'Amount',
  'Probability',
  'Closing_Date',
  'Owner',
  'Created_Time',
  'Modified_Time',
] as const
export const STAGE_HISTORY_FIELDS = [
  'Stage',
  'Amount',
  'Probability',
  'Close_Date',
  'Expected_Revenue',
  'Modified_Time',
  'Modified_By',
] as const
/** 403 codes meaning "this org has no multi-currency". */
const NO_CURRENCIES = new Set(['FEATURE_NOT_SUPPORTED', 'CURRENCIES_NOT_ENABLED', 'NOT_SUPPORTED'])

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
/** One turn of the event loop, so that I/O just started is written out. */
const nextTurn = () =>
  new Promise<void>((r) => (typeof setImmediate === 'function' ? setImmediate(r) : setTimeout(r, 0)))

/**
 * `"info": {…}` closing the body, where Zoho puts a list page's info: an object of strings and
 * scalars (a string may hold braces; a nested object is not matched).
 */
const INFO_AT_END = /"info"[ \t\n\r]*:[ \t\n\r]*(\{(?:"(?:[^"\\]|\\.)*"|[^{}"])*\})[ \t\n\r]*\}[ \t\n\r]*$/

/**
 * A list page's info read off the end of its raw body, without parsing the records; undefined
 * when the body does not end that way. Only a hint (ListDealsOptions.onInfo): the page itself is
 * parsed and validated as usual.
 */
export function pageInfoAtEnd(text: string): ZohoPageInfo | undefined {
  const m = INFO_AT_END.exec(text.length > 4096 ? text.slice(-4096) : text)
  if (!m) return undefined
  try {
    const r = pageInfoSchema.safeParse(JSON.parse(m[1]!))
    return r.success ? r.data : undefined
  } catch {
    return undefined
  }
}

/**
 * If-Modified-Since value: ISO 8601 with its offset (or Z) and no milliseconds. An offset string is
 * kept as given (fraction dropped, i.e. rounded down, so nothing is missed); anything else that
 * parses as a date is sent in UTC.
 */
export function formatModifiedSince(value: string | Date): string {
  if (typeof value === 'string') {
    const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(value)
    if (m) return `${m[1]}${m[2]}`
  }
  const d = typeof value === 'string' ? new Date(value) : value
  if (Number.isNaN(d.getTime())) throw new Error(`Invalid modifiedSince: ${String(value)}`)
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** Splits a field list into calls of ≤ 50, the first carrying `first` (deduplicated, id excluded). */
export function chunkFields(fields: readonly string[], first: readonly string[] = []): string[][] {
  const all = [...new Set([...first, ...fields])].filter((f) => f !== 'id')
  const chunks: string[][] = []
  for (let i = 0; i < all.length; i += MAX_FIELDS_PER_CALL) chunks.push(all.slice(i, i + MAX_FIELDS_PER_CALL))
  return chunks.length ? chunks : [[...first]]
}

const chunk = <T>(xs: readonly T[], n: number): T[][] => {
  const out: T[][] = []
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n))
  return out
}

class Semaphore {
  private active = 0
  private queue: (() => void)[] = []
  constructor(private readonly limit: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.queue.push(r))
    else this.active++
    try {
      return await fn()
    } finally {
      const next = this.queue.shift()
      if (next) next()
      else this.active--
    }
  }
}

type Attempt =
  | { kind: 'response'; status: number; text: string; body: unknown; headers: ZohoHttpResponse['headers'] }
  | { kind: 'network'; error: unknown }

export function createZohoClient(opts: ZohoClientOptions): ZohoRestClient {
  const base = `${trimBase(opts.apiDomain)}/crm/v8`
  const maxRetries = opts.maxRetries ?? 3
  const budget = opts.budget ?? new CallBudget(opts.ratePerHour ?? 1000)
  const maxBudgetWaitMs = opts.maxBudgetWaitMs ?? 60_000
  const slots = new Semaphore(Math.max(1, opts.concurrency ?? 5))
  const baseDelay = opts.baseDelayMs ?? 1000
  const maxDelay = opts.maxDelayMs ?? 60_000
  const sleep = opts.sleep ?? defaultSleep
  const random = opts.random ?? Math.random
  const now = opts.now ?? Date.now
  const log = opts.logger
  const moneyFields = opts.moneyFields?.length ? opts.moneyFields : undefined
  const stats: ZohoCallStats = { calls: 0, creditsRemaining: null }
  const send: ZohoHttp = opts.http ?? ((url, init) => opts.fetch(url, init))

  async function takeBudget() {
    for (;;) {
      const wait = budget.take(now())
      if (wait === 0) return
      if (wait > maxBudgetWaitMs)
        throw new ZohoBudgetError(
          'api_calls',
          `Hourly Zoho API budget of ${budget.perHour} calls is spent (API_RATE_LIMIT_PER_HOUR); next call allowed in ${Math.ceil(wait / 1000)} s`,
          wait,
        )
      log?.warn('zoho hourly call budget spent, waiting', { waitMs: wait })
      await sleep(wait)
    }
  }

  async function attempt(
    url: string,
    token: string,
    headers: Record<string, string>,
    method = 'GET',
    payload?: string,
    peek?: (text: string) => boolean,
  ): Promise<Attempt> {
    await takeBudget()
    return slots.run(async () => {
      stats.calls++
      try {
        const res = await send(url, {
          method,
          headers: {
            ...headers,
            ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
            accept: 'application/json',
            authorization: `Zoho-oauthtoken ${token}`,
          },
          body: payload,
        })
        const credits = res.headers.get('x-api-credits-remaining')
        if (credits !== null && /^\d+$/.test(credits.trim())) stats.creditsRemaining = Number(credits)
        // Read the body inside the try: a connection dropped mid-body is a network error too.
        const text = res.status === 204 || res.status === 304 ? '' : await res.text()
        // A request the peek started goes out before the parse below holds the thread.
        if (peek && res.ok && text && peek(text)) await nextTurn()
        let body: unknown = null
        if (res.ok && text.trim()) {
          try {
            body = parseZohoJson(text, moneyFields)
          } catch (e) {
            // A 2xx whose body does not parse was cut short: retry it like a dropped connection.
            return { kind: 'network', error: new Error(`invalid JSON in a ${res.status} body: ${String(e)}`) }
          }
        }
        return { kind: 'response', status: res.status, text, body, headers: res.headers }
      } catch (error) {
        return { kind: 'network', error }
      }
    })
  }

  /** Zoho's error envelope of a body: code, message, details (the status when it is not one). */
  function errorOf(status: number, text: string) {
    let env: z.infer<typeof errorEnvelopeSchema> | null = null
    try {
      const r = errorEnvelopeSchema.safeParse(JSON.parse(text))
      if (r.success) env = r.data
    } catch {
      /* not JSON: keep the status */
    }
    return {
      code: env?.code ?? `HTTP_${status}`,
      message: env?.message ?? (text.slice(0, 200) || 'no body'),
      details: (env?.details as Record<string, unknown> | null | undefined) ?? {},
    }
  }

  function apiError(status: number, text: string, path: string): ZohoApiError {
    const e = errorOf(status, text)
    return new ZohoApiError(status, e.code, e.message, e.details, path)
  }

  async function request(
    path: string,
    query: Record<string, string | undefined> = {},
    headers: Record<string, string> = {},
    method = 'GET',
    body?: unknown,
    peek?: (text: string) => boolean,
  ): Promise<ZohoResponse> {
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, v)
    const qs = q.toString()
    const url = `${base}${path}${qs ? `?${qs}` : ''}`
    const label = `${method} /crm/v8${path}`
    const payload = body === undefined ? undefined : JSON.stringify(body)
    let token = await opts.tokens.get()
    let replayed = false
    let retries = 0
    for (;;) {
      const a = await attempt(url, token, headers, method, payload, peek)
      let retryable: { reason: string; is429: boolean } | null = null
      if (a.kind === 'network')
        retryable = { reason: String((a.error as Error)?.message ?? a.error), is429: false }
      else if (a.status === 429 || a.status >= 500)
        retryable = { reason: `HTTP ${a.status}`, is429: a.status === 429 }
      if (retryable) {
        if (retries >= maxRetries) {
          if (a.kind === 'network')
            throw new ZohoNetworkError(
              `${label} failed after ${retries + 1} attempts: ${retryable.reason}`,
              a.error,
            )
          if (a.status === 429) {
            const e = errorOf(a.status, a.text)
            throw new ZohoRateLimitError(e.code, e.message, e.details, label, retries + 1)
          }
          throw apiError(a.status, a.text, label)
        }
        const cap = Math.min(maxDelay, (retryable.is429 ? 2 * baseDelay : baseDelay) * 2 ** retries)
        const delay = Math.floor(random() * cap)
        retries++
        log?.warn('zoho call retrying', {
          path: label,
          reason: retryable.reason,
          attempt: retries,
          delayMs: delay,
        })
        await sleep(delay)
        continue
      }
      if (a.kind === 'network') throw new Error('unreachable')
      const { status, text } = a
      if (status === 401) {
        const err = apiError(status, text, label)
        if (err.code === 'OAUTH_SCOPE_MISMATCH') {
          await opts.tokens.markBroken?.(
            `Zoho refused the connection's scopes (OAUTH_SCOPE_MISMATCH on ${label}): an admin must reconnect Zoho and grant the requested scopes`,
          )
          throw err
        }
        if (!replayed) {
          // INVALID_TOKEN (expired/revoked) or AUTHENTICATION_FAILURE: refresh once, replay once.
          replayed = true
          token = await opts.tokens.invalidate(token)
          continue
        }
        // Rejected again right after a refresh: report it, but leave the connection alone (a
        // revoked refresh token shows up as invalid_code at the next refresh and breaks it there).
        throw err
      }
      if (status === 204 || status === 304) return { status, body: null, headers: a.headers }
      if (status < 200 || status >= 300) throw apiError(status, text, label)
      return { status, body: a.body, headers: a.headers }
    }
  }

  function parse<T extends z.ZodType>(schema: T, body: unknown, what: string): z.output<T> {
    const r = schema.safeParse(body)
    if (!r.success) {
      const issue = r.error.issues[0]
      throw new ZohoApiError(
        200,
        'UNEXPECTED_RESPONSE',
        `${what}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid body'}`,
      )
    }
    return r.data
  }

  /** Walks page numbers, switching to page_token when Zoho offers one (page stops at 2,000). */
  async function allPages<T>(
    path: string,
    query: Record<string, string | undefined>,
    read: (body: unknown) => { items: T[]; info: ZohoPageInfo },
  ): Promise<T[]> {
    const out: T[] = []
    let page = 1
    let pageToken: string | undefined
    for (;;) {
      const res = await request(path, {
        ...query,
        per_page: String(MAX_PER_PAGE),
        // No `page` on the first request (Zoho's default is 1): a page_token is bound to the exact
        // parameters of the request that issued it, so page=1 there would break the token chain.
        ...(pageToken ? { page_token: pageToken } : page > 1 ? { page: String(page) } : {}),
      })
      if (res.body === null) return out
      const { items, info } = read(res.body)
      out.push(...items)
      if (!info.more_records || items.length === 0) return out
      pageToken = info.next_page_token ?? undefined
      page++
    }
  }

  function mergeById(base: Record<string, unknown>[], extra: Record<string, unknown>[]) {
    const byId = new Map(extra.map((r) => [r.id as string, r]))
    // The first chunk's values win on overlap: chunks are not one snapshot.
    return base.map((r) => ({ ...byId.get(r.id as string), ...r }))
  }

  async function fetchByIds(ids: readonly string[], fields: readonly string[]) {
    const out: Record<string, unknown>[] = []
    for (const idChunk of chunk(ids, MAX_IDS_PER_CALL)) {
      const res = await request('/Deals', { ids: idChunk.join(','), fields: fields.join(',') })
      if (res.body !== null) out.push(...parse(recordsPageSchema, res.body, 'Deals by ids').data)
    }
    return out
  }

  /** Fetches the remaining field chunks of these records by id and merges them in. */
  async function completeRecords(records: Record<string, unknown>[], rest: string[][]) {
    let merged = records
    const ids = records.map((r) => r.id as string)
    for (const fields of rest) merged = mergeById(merged, await fetchByIds(ids, fields))
    return merged
  }

  const toDeal = (r: Record<string, unknown>): ZohoDealRecord => parse(dealSchema, r, `Deal ${String(r.id)}`)

  const client: ZohoRestClient = {
    stats,
    get: request,
    request: (method, path, o = {}) => request(path, o.query, o.headers, method, o.body),

    async getOrg() {
      const res = await request('/org')
      return parse(orgEnvelopeSchema, res.body, 'org').org[0]!
    },

    async getCurrencies() {
      try {
        const res = await request('/org/currencies')
        if (res.body === null) return []
        return parse(currenciesSchema, res.body, 'currencies').currencies
      } catch (e) {
        if (e instanceof ZohoApiError && e.status === 403 && NO_CURRENCIES.has(e.code)) return null
        throw e
      }
    },

    getUsers(type: ZohoUserType): Promise<ZohoUser[]> {
      return allPages('/users', { type }, (body) => {
        const p = parse(usersPageSchema, body, 'users')
        return { items: p.users, info: p.info }
      })
    },

    async getCurrentUser() {
      const res = await request('/users', { type: 'CurrentUser' })
      const user = res.body === null ? undefined : parse(usersPageSchema, res.body, 'current user').users[0]
      if (!user)
        throw new ZohoApiError(
          res.status,
          'NO_CURRENT_USER',
          'Zoho returned no current user',
          {},
          'GET /users',
        )
      return user
    },

    async getRoles() {
      const res = await request('/settings/roles')
      return res.body === null ? [] : parse(rolesSchema, res.body, 'roles').roles
    },

    async getProfiles() {
      const res = await request('/settings/profiles')
      return res.body === null ? [] : parse(profilesSchema, res.body, 'profiles').profiles
    },

    async getLayouts(module) {
      const res = await request('/settings/layouts', { module })
      return res.body === null ? [] : parse(layoutsSchema, res.body, 'layouts').layouts
    },

    async getPipelines(layoutId) {
      const res = await request('/settings/pipeline', { layout_id: layoutId })
      return res.body === null ? [] : parse(pipelinesSchema, res.body, 'pipelines').pipeline
    },

    async getFields(module) {
      const res = await request('/settings/fields', { module })
      return res.body === null ? [] : parse(fieldsSchema, res.body, 'fields').fields
    },

    async getStagePicklist() {
      const stage = (await client.getFields('Deals')).find((f) => f.api_name === 'Stage')
      if (!stage?.pick_list_values)
        throw new ZohoApiError(
          200,
          'NO_STAGE_FIELD',
          'Deals fields metadata has no Stage picklist',
          {},
          'GET /settings/fields',
        )
      return stage.pick_list_values
    },

    async listDeals(params: ListDealsParams, opts: ListDealsOptions = {}): Promise<ZohoDealsPage> {
      if (!params.fields.length) throw new Error('listDeals: fields is required')
      if (params.page !== undefined && params.pageToken)
        throw new Error('listDeals: page and pageToken are exclusive')
      const [first, ...rest] = chunkFields(params.fields, REQUIRED_DEAL_FIELDS)
      const headers: Record<string, string> = {}
      if (params.modifiedSince) headers['if-modified-since'] = formatModifiedSince(params.modifiedSince)
      const res = await request(
        '/Deals',
        {
          fields: first!.join(','),
          per_page: String(Math.min(MAX_PER_PAGE, Math.max(1, params.perPage ?? MAX_PER_PAGE))),
          // `page` only when the caller pages by number. Zoho binds a page_token to the exact
          // parameters of the request that issued it, so a chain whose first request sent page=1
          // (while its follow-ups cannot: page + page_token is refused) fails on page 2 with
          // TOKEN_BOUND_DATA_MISMATCH. Left out, Zoho serves page 1 anyway.
          page: params.page === undefined ? undefined : String(params.page),
          page_token: params.pageToken,
          sort_by: params.sortBy,
          sort_order: params.sortOrder,
        },
        headers,
        'GET',
        undefined,
        opts.onInfo &&
          ((text) => {
            const info = pageInfoAtEnd(text)
            return info ? opts.onInfo!(info) : false
          }),
      )
      if (res.body === null)
        return {
          data: [],
          info: { more_records: false },
          status: res.status === 304 ? 'not_modified' : 'empty',
        }
      // One field chunk (the sync's case): every record validated in the page parse. More chunks:
      // records are complete, and so validated, only once merged.
      if (!rest.length) return { ...parse(dealsPageSchema, res.body, 'Deals page'), status: 'ok' }
      const page = parse(recordsPageSchema, res.body, 'Deals page')
      const records = await completeRecords(page.data, rest)
      return { data: records.map(toDeal), info: page.info, status: 'ok' }
    },

    async getDealsByIds(ids, fields) {
      const [first, ...rest] = chunkFields(fields, REQUIRED_DEAL_FIELDS)
      const unique = [...new Set(ids)]
      if (!unique.length) return []
      const records = await fetchByIds(unique, first!)
      return (rest.length ? await completeRecords(records, rest) : records).map(toDeal)
    },

    async listDeletedDeals(params) {
      const headers: Record<string, string> = {}
      if (params.modifiedSince) headers['if-modified-since'] = formatModifiedSince(params.modifiedSince)
      const res = await request(
        '/Deals/deleted',
        {
          type: 'all',
          page: String(params.page ?? 1),
          per_page: String(Math.min(MAX_PER_PAGE, Math.max(1, params.perPage ?? MAX_PER_PAGE))),
        },
        headers,
      )
      if (res.body === null) return { data: [], info: { more_records: false } }
      return parse(deletedPageSchema, res.body, 'deleted Deals')
    },

    getStageHistory(dealId, fields = STAGE_HISTORY_FIELDS): Promise<ZohoStageHistoryRow[]> {
      return allPages(
        `/Deals/${encodeURIComponent(dealId)}/Stage_History`,
        { fields: fields.join(',') },
        (body) => {
          const p = parse(stageHistoryPageSchema, body, 'Stage_History')
          return { items: p.data, info: p.info }
        },
      )
    },
  }
  return client
}

/**
 * The client for a connected org: its stored api_domain, the shared token provider, and the limits
 * from config (SYNC_MAX_RETRIES, API_RATE_LIMIT_PER_HOUR). Throws ZohoConnectionError when the org
 * has no usable connection.
 */
export async function clientForOrg(
  db: Db,
  config: Config,
  orgId: string,
  fetchImpl: typeof fetch,
  extra: Partial<ZohoClientOptions> &
    Partial<Pick<TokenProviderOptions, 'registry' | 'clientId' | 'clientSecret'>> = {},
): Promise<ZohoRestClient> {
  const conn = await loadConnection(db, config.secretKey, orgId)
  if (!conn) throw new ZohoConnectionError(orgId, 'missing', `Zoho is not connected for org ${orgId}`)
  if (conn.status !== 'active')
    throw new ZohoConnectionError(
      orgId,
      conn.status,
      conn.lastError ?? `The Zoho connection is ${conn.status}`,
    )
  // The hourly budget counts the calls of the last hour recorded for the org by every process and
  // Worker isolate (a Map in memory would forget them with each isolate), then this client's own.
  const budget = new CallBudget(config.API_RATE_LIMIT_PER_HOUR, await recentZohoCalls(db, orgId))
  const tokens = createTokenProvider(db, {
    orgId,
    secretKey: config.secretKey,
    // Demo mode passes the built-in sandbox's client credentials.
    clientId: extra.clientId ?? config.ZOHO_CLIENT_ID ?? '',
    clientSecret: extra.clientSecret ?? config.ZOHO_CLIENT_SECRET ?? '',
    fetch: fetchImpl,
    logger: extra.logger,
    registry: extra.registry,
  })
  const { registry: _r, clientId: _i, clientSecret: _s, ...clientOpts } = extra
  return createZohoClient({
    apiDomain: conn.apiDomain,
    tokens,
    fetch: fetchImpl,
    maxRetries: config.SYNC_MAX_RETRIES,
    budget,
    ...clientOpts,
  })
}
