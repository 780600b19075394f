import type { z } from 'zod'

/**
 * The one HTTP client for both entries. Web view: same-origin cookie session. Widget: an in-memory
 * bearer token (third-party cookies do not work in the CRM iframe) against an absolute API base.
 * Every response is parsed with the shared zod contract. Superseded requests are aborted by their
 * owner: useResource gives each load its own AbortController and aborts it when its deps change or
 * the component unmounts. (A global per-key slot used to do this, but unrelated components sharing a
 * key, e.g. the Owner filter and the Leaderboard both loading by-owner, then cancelled each other.)
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

interface ApiConfig {
  /** '' for same origin, else e.g. https://pulse.example.com (no trailing slash). */
  base: string
  /** Widget: returns the bearer token. Web view: undefined (cookie). */
  token?: () => string | null
  /**
   * Widget: obtains a fresh token (shared in-flight sign-in). Called once on a 401, after which the
   * request is retried once; a token can die before its renewal timer fires (sleep, throttled tab).
   */
  reauthenticate?: () => Promise<void>
  /**
   * Web view: the session has ended (a 401 on any request but the sign-in itself); the entry shows
   * its sign-in screen instead of leaving each view with an error it cannot fix by trying again.
   */
  onUnauthorized?: () => void
}

let config: ApiConfig = { base: '' }
export function configureApi(next: ApiConfig) {
  config = { ...next, base: next.base.replace(/\/+$/, '') }
}
export const apiBase = () => config.base

export type Params = Record<string, string | number | boolean | null | undefined>

export function apiUrl(path: string, params?: Params): string {
  const qs = new URLSearchParams()
  for (const [k, v] of Object.entries(params ?? {}))
    if (v !== null && v !== undefined && v !== '') qs.set(k, String(v))
  const s = qs.toString()
  return `${config.base}${path}${s ? `?${s}` : ''}`
}

function headers(extra?: Record<string, string>, bearer = true): Record<string, string> {
  const h: Record<string, string> = { accept: 'application/json', ...extra }
  const t = bearer ? config.token?.() : null
  if (t) h.authorization = `Bearer ${t}`
  return h
}

export const isAbort = (e: unknown) => e instanceof DOMException && e.name === 'AbortError'

interface RawOptions {
  /**
   * The widget sign-in itself (token exchange): sent without the bearer token (the one held may be
   * the dead one being replaced; the assertion authenticates it), and a 401 there must not start
   * another sign-in (it would wait on itself).
   */
  signIn?: boolean
}

async function raw(
  method: string,
  url: string,
  init: RequestInit = {},
  { signIn = false }: RawOptions = {},
): Promise<Response> {
  // headers() runs per attempt so the retry after a re-authentication carries the new token.
  const attempt = () =>
    fetch(url, {
      method,
      credentials: config.token ? 'omit' : 'same-origin',
      ...init,
      headers: headers(init.headers as Record<string, string>, !signIn),
    }).catch((e: unknown) => {
      if (isAbort(e)) throw e
      // No answer at all (offline, server down, blocked): "Failed to fetch" tells a user nothing.
      throw new ApiError(0, 'NETWORK', 'Could not reach Pipeline Pulse. Check your connection and try again.')
    })
  const sent = config.token?.()
  let res = await attempt()
  if (res.status === 401 && !signIn && config.reauthenticate) {
    const expired = await toError(res)
    try {
      // A 401 that comes back after another request already signed in again (one wave of
      // requests can straddle the sign-in): the token held now is new, so just retry with it.
      if (config.token?.() === sent) await config.reauthenticate()
    } catch (e) {
      // Sign-in failed: report the 401 (and log why); "Try again" re-runs this path.
      console.error('widget re-authentication failed', e)
      throw expired
    }
    init.signal?.throwIfAborted()
    res = await attempt()
  }
  if (res.status === 401 && !signIn && !config.reauthenticate) config.onUnauthorized?.()
  if (!res.ok) throw await toError(res)
  return res
}

async function toError(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string; requestId?: string } }
    if (body.error)
      return new ApiError(
        res.status,
        body.error.code ?? 'ERROR',
        body.error.message ?? res.statusText,
        body.error.requestId,
      )
  } catch {
    /* not JSON */
  }
  // Not our JSON error: a proxy or gateway in front answered (502, 503, 504…), or the server is
  // restarting. Say so in words rather than the bare status text.
  const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`
  return new ApiError(
    res.status,
    'HTTP_' + res.status,
    res.status >= 500
      ? `Pipeline Pulse is not answering right now (${status}). Try again in a moment.`
      : `The request failed (${status}).`,
  )
}

/** GET and parse. `signal` (from useResource) aborts the request when its caller supersedes it. */
export async function get<S extends z.ZodType>(
  path: string,
  schema: S,
  params?: Params,
  signal?: AbortSignal,
): Promise<z.output<S>> {
  const res = await raw('GET', apiUrl(path, params), { signal })
  return schema.parse(await res.json())
}

export async function send<S extends z.ZodType>(
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body: unknown,
  schema: S,
  opts?: RawOptions,
): Promise<z.output<S>> {
  const res = await raw(
    method,
    apiUrl(path),
    {
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    },
    opts,
  )
  const text = await res.text()
  return schema.parse(text ? JSON.parse(text) : {})
}

/** The file name a Content-Disposition header gives (filename*=UTF-8'' first), or null. */
export function dispositionFilename(header: string | null): string | null {
  if (!header) return null
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(header)
  if (star) {
    try {
      return decodeURIComponent(star[1]!.trim())
    } catch {
      /* malformed: fall back to filename= */
    }
  }
  const plain = /filename\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(header)
  return plain?.[1] ?? plain?.[2] ?? null
}

/**
 * Saves a file the API sends as an attachment, under the name the server gives
 * (deals-2026-11-26.csv: the org's day), else `filename`. Two paths, by design:
 *
 * - Web view (cookie session): a plain link to the endpoint, clicked. The browser sends the cookie
 *   and streams the body to disk as it arrives (its download list shows the progress), so an export
 *   of a whole big org never sits in the tab's memory. A link cannot show our JSON errors (the
 *   browser just marks the download failed), so `check` runs first: a small JSON request with the
 *   same filters that fails as the export would (400 bad input, 403 an owner outside the scope, 401
 *   signed out), and its error shows on the page. Only a failure after the first rows is left to the
 *   browser: the server cuts the connection and the download shows as failed, never as a short file.
 * - Widget (bearer token, in Zoho's cross-origin iframe): fetch, then a Blob. A link cannot carry
 *   the Authorization header, and a token in the URL would end up in logs, history and Referer.
 *   The file is held in the tab before it is saved; in the widget that is a rep's own deals or a
 *   manager's team, and a whole big org is exported from the web view.
 */
export async function download(
  path: string,
  params: Params,
  filename: string,
  check?: () => Promise<unknown>,
): Promise<void> {
  if (!config.token) {
    await check?.()
    saveLink(apiUrl(path, params), filename)
    return
  }
  const res = await raw('GET', apiUrl(path, params), { headers: { accept: 'text/csv' } })
  const href = URL.createObjectURL(await res.blob())
  saveLink(href, dispositionFilename(res.headers.get('content-disposition')) ?? filename)
  setTimeout(() => URL.revokeObjectURL(href), 10_000)
}

/** Clicks a download link; a same-origin response's Content-Disposition name wins over `filename`. */
function saveLink(href: string, filename: string): void {
  const a = document.createElement('a')
  a.href = href
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
}

export interface SseEvent {
  event: string
  data: string
}

/**
 * Server-sent events over fetch (EventSource cannot send a bearer header). Calls onEvent for each
 * event until the stream ends or signal aborts.
 */
export async function stream(
  path: string,
  onEvent: (e: SseEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const res = await raw('GET', apiUrl(path), { headers: { accept: 'text/event-stream' }, signal })
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  let buf = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    buf += value.replace(/\r\n?/g, '\n')
    let i: number
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i)
      buf = buf.slice(i + 2)
      let event = 'message'
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
      }
      if (data.length) onEvent({ event, data: data.join('\n') })
    }
  }
}
