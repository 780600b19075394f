import { z } from 'zod'
import { isDecimal, normalizeDecimal } from '#shared/money'
import type { Logger } from '../observability/logger'

/*
 * Currency Freaks v2.0 client (reference/platform.md §6). Always base USD (the default; no `base`
 * parameter, which may need a paid plan): cross rates are computed locally. CURRENCY_API_URL is used
 * exactly as given, so any server speaking this API works. Rates stay exact decimal strings.
 */

export const PROVIDER = 'currencyfreaks'

export type FxErrorKind =
  | 'config'
  | 'auth'
  | 'plan'
  | 'quota'
  | 'unavailable'
  | 'invalid'
  | 'rejected'
  /** This run's call budget is spent (not an error of the provider). */
  | 'budget'

export class FxProviderError extends Error {
  override name = 'FxProviderError'
  constructor(
    readonly kind: FxErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message)
  }
  /** Whether the provider answered at all (false: network, 5xx, 429 after retries). */
  get reachable(): boolean {
    return this.kind !== 'unavailable' && this.kind !== 'quota' && this.kind !== 'budget'
  }
}

/** One set of quotes: units of each currency per 1 USD. */
export interface ProviderRates {
  /** The provider's timestamp for the quotes, as an instant (null when it sent none we can read). */
  providerDate: Date | null
  rates: Record<string, string>
}

export interface ProviderOptions {
  url: string
  apiKey: string | undefined
  fetch: typeof fetch
  logger?: Logger
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>
  /** Retries after the first attempt for 429, 5xx and network errors. */
  retries?: number
  /** First backoff delay; doubles each retry (capped at 30 s). */
  backoffMs?: number
  timeoutMs?: number
  /** HTTP requests this client may make in all, retries included (bounded runs). */
  maxCalls?: number
}

export interface FxProvider {
  latest(): Promise<ProviderRates>
  /** Quotes at 00:00 UTC of a YYYY-MM-DD date. */
  historical(date: string): Promise<ProviderRates>
  /** HTTP requests made so far (each costs one credit of the plan's quota). */
  readonly calls: number
}

const responseSchema = z.object({
  date: z.string().optional(),
  base: z.string(),
  rates: z.record(z.string(), z.union([z.string(), z.number()])),
})

const DATE = /^\d{4}-\d{2}-\d{2}$/
const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** "2023-03-21 13:26:00+00" (their format) or any ISO-like instant. */
export function parseProviderDate(value: string | undefined): Date | null {
  if (!value) return null
  let s = value.trim().replace(' ', 'T')
  if (/[+-]\d{2}$/.test(s)) s += ':00'
  const d = new Date(s)
  return Number.isNaN(d.getTime()) ? null : d
}

/** The provider's own words from an error body: JSON error.message / message / error, else the text. */
export function errorDetail(text: string): string {
  let detail: unknown
  try {
    const body = JSON.parse(text) as Record<string, unknown>
    const err = body?.error
    detail =
      (err && typeof err === 'object' ? (err as Record<string, unknown>).message : undefined) ??
      body?.message ??
      (typeof err === 'string' ? err : undefined) ??
      body?.detail
  } catch {
    detail = undefined
  }
  const out = typeof detail === 'string' && detail ? detail : text.replace(/\s+/g, ' ').trim()
  return out.slice(0, 200) || 'no details'
}

export function createCurrencyFreaksClient(opts: ProviderOptions): FxProvider {
  const base = opts.url.replace(/\/+$/, '')
  const sleep = opts.sleep ?? realSleep
  const retries = opts.retries ?? 3
  const backoffMs = opts.backoffMs ?? 500
  let calls = 0

  async function get(path: string, params: Record<string, string>): Promise<ProviderRates> {
    if (!opts.apiKey)
      throw new FxProviderError(
        'config',
        'CURRENCY_API_KEY is not set: Currency Freaks rates cannot be fetched (get a key at currencyfreaks.com)',
      )
    const query = new URLSearchParams({ apikey: opts.apiKey, ...params }).toString()
    const url = `${base}${path}?${query}`
    let last: FxProviderError | undefined
    /** A Retry-After (seconds) the provider sent with its last 429/503, if any. */
    let retryAfterMs = 0
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (opts.maxCalls !== undefined && calls >= opts.maxCalls)
        throw (
          last ??
          new FxProviderError('budget', `Provider call budget of ${opts.maxCalls} for this run is spent`)
        )
      if (attempt > 0) await sleep(Math.min(Math.max(backoffMs * 2 ** (attempt - 1), retryAfterMs), 30_000))
      let res: Response
      calls++
      try {
        res = await opts.fetch(url, {
          headers: { accept: 'application/json' },
          signal: AbortSignal.timeout(opts.timeoutMs ?? 20_000),
        })
      } catch (err) {
        last = new FxProviderError(
          'unavailable',
          `Currency Freaks is unreachable at ${base} (${(err as Error).message || 'network error'})`,
        )
        opts.logger?.warn('fx provider unreachable', { path, attempt, error: (err as Error).message })
        continue
      }
      const text = await res.text().catch(() => '')
      if (res.ok) return parseRates(text, path)
      const detail = errorDetail(text)
      opts.logger?.warn('fx provider error', { path, attempt, status: res.status, body: text.slice(0, 500) })
      if (res.status === 401)
        throw new FxProviderError(
          'auth',
          `Currency Freaks rejected the API key (HTTP 401: ${detail}): set a valid CURRENCY_API_KEY`,
          401,
        )
      if (res.status === 403)
        throw new FxProviderError(
          'plan',
          `Currency Freaks refused ${path} under the current plan (HTTP 403: ${detail}): ` +
            'historical rates need a paid Currency Freaks plan for CURRENCY_API_KEY',
          403,
        )
      if (res.status === 429 || res.status >= 500) {
        const after = Number(res.headers.get('retry-after'))
        retryAfterMs = Number.isFinite(after) && after > 0 ? after * 1000 : 0
        last = new FxProviderError(
          res.status === 429 ? 'quota' : 'unavailable',
          res.status === 429
            ? `Currency Freaks rate limit or plan quota reached (HTTP 429: ${detail})`
            : `Currency Freaks failed (HTTP ${res.status}: ${detail})`,
          res.status,
        )
        continue
      }
      if (res.status === 404)
        throw new FxProviderError(
          'invalid',
          `Currency Freaks has no ${path} at ${base} (HTTP 404): check CURRENCY_API_URL`,
          404,
        )
      throw new FxProviderError(
        'rejected',
        `Currency Freaks rejected ${path} (HTTP ${res.status}: ${detail})`,
        res.status,
      )
    }
    throw last!
  }

  function parseRates(text: string, path: string): ProviderRates {
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw new FxProviderError('invalid', `Currency Freaks sent a non-JSON answer to ${path}`)
    }
    const parsed = responseSchema.safeParse(json)
    if (!parsed.success)
      throw new FxProviderError('invalid', `Currency Freaks sent an unexpected answer to ${path} (no rates)`)
    if (parsed.data.base.toUpperCase() !== 'USD')
      throw new FxProviderError('invalid', `Currency Freaks answered with base ${parsed.data.base}, not USD`)
    const rates: Record<string, string> = {}
    let skipped = 0
    for (const [code, raw] of Object.entries(parsed.data.rates)) {
      const value = String(raw)
      if (
        !/^[A-Za-z0-9]{2,10}$/.test(code) ||
        !isDecimal(value) ||
        !/[1-9]/.test(value) ||
        value.trim().startsWith('-')
      ) {
        skipped++
        continue
      }
      rates[code.toUpperCase()] = normalizeDecimal(value)
    }
    rates.USD = '1'
    if (Object.keys(rates).length < 2)
      throw new FxProviderError('invalid', `Currency Freaks sent no usable rates for ${path}`)
    if (skipped) opts.logger?.debug('fx provider rates skipped', { path, skipped })
    return { providerDate: parseProviderDate(parsed.data.date), rates }
  }

  return {
    latest: () => get('/rates/latest', {}),
    historical: (date: string) => {
      if (!DATE.test(date)) throw new RangeError(`historical(): not a YYYY-MM-DD date: ${date}`)
      return get('/rates/historical', { date })
    },
    get calls() {
      return calls
    },
  }
}
