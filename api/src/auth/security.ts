import { WEB_CSP, WIDGET_CSP } from './csp'
import type { Context, MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import { getCookie } from 'hono/cookie'
import { createMiddleware } from 'hono/factory'
import type { Config } from '../config'
import { AppError, badRequest, forbidden } from '../http/errors'
import type { AppEnv } from '../http/types'
import { SESSION_COOKIE } from './middleware'

/**
 * The security middleware of app.ts: CORS for Zoho widget origins, security headers on every
 * response, per-IP rate limiting of the auth routes, and CSRF protection of cookie-authenticated
 * state changes.
 */

// ------------------------------------------------------------------------------------------- CORS

/** Zoho-hosted widgets run on https://<uuid>.zappsusercontent.<dc tld> (zoho-widget.md §3.3). */
const ZOHO_WIDGET_ORIGIN = /^https:\/\/([a-z0-9-]+\.)+zappsusercontent\.(com|eu|in|com\.au|jp|com\.cn|ca|sa)$/
/** `zet run` serves the widget here during development. */
const ZET_DEV_ORIGIN = 'https://127.0.0.1:5000'

export function corsOrigins(config: Config): string[] {
  return config.CORS_ORIGINS.split(',')
    .map((s) => s.trim().replace(/\/+$/, ''))
    .filter((s) => s && s !== '*')
}

export function isAllowedOrigin(origin: string, extra: readonly string[]): boolean {
  return ZOHO_WIDGET_ORIGIN.test(origin) || origin === ZET_DEV_ORIGIN || extra.includes(origin)
}

/**
 * The widget authenticates with a Bearer token, never a cookie, so credentials are off: a
 * cross-origin caller can never ride on a session cookie, and `*` is never sent.
 */
export function widgetCors(config: Config): MiddlewareHandler {
  const extra = corsOrigins(config)
  return cors({
    origin: (origin) => (origin && isAllowedOrigin(origin, extra) ? origin : null),
    allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID', 'If-None-Match'],
    exposeHeaders: ['X-Request-Id', 'Retry-After', 'Content-Disposition', 'ETag'],
    credentials: false,
    maxAge: 600,
  })
}

// -------------------------------------------------------------------------------- security headers

/** JSON, CSV, SSE: nothing to render, nothing to frame. */
const DATA_CSP = "default-src 'none'; frame-ancestors 'none'"

const isWidgetPage = (path: string) => /(^|\/)widget(\.html)?$/.test(path)

/**
 * Whether this request is served over https: in production always; else when the request URL is
 * https (or a TLS-terminating proxy says so), or the configured PUBLIC_URL or ZOHO_REDIRECT_URI is
 * https (the deployment's public face). Plain-http local development (http://localhost with no https
 * URL configured) stays cookie-compatible. Decides the Secure cookie flag and HSTS.
 */
export function servedOverHttps(config: Config, c?: Context): boolean {
  if (config.APP_ENV === 'production') return true
  const https = (u: string | undefined) => Boolean(u && /^https:/i.test(u))
  if (https(config.PUBLIC_URL) || https(config.ZOHO_REDIRECT_URI)) return true
  if (!c) return false
  return (
    https(c.req.url) || c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https'
  )
}

export function securityHeaders(config: Config): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next()
    const hsts = servedOverHttps(config, c)
    let h = c.res.headers
    try {
      h.set('x-content-type-options', 'nosniff')
    } catch {
      // Immutable headers (a proxied fetch Response): copy once, then set.
      c.res = new Response(c.res.body, c.res)
      h = c.res.headers
      h.set('x-content-type-options', 'nosniff')
    }
    // Not no-referrer: that would make browsers send `Origin: null` on same-origin POSTs (CSRF check).
    h.set('referrer-policy', 'strict-origin-when-cross-origin')
    if (hsts) h.set('strict-transport-security', 'max-age=31536000; includeSubDomains')
    const path = c.req.path
    const html = (h.get('content-type') ?? '').includes('text/html')
    if (isWidgetPage(path)) {
      h.set('content-security-policy', WIDGET_CSP)
      h.delete('x-frame-options')
    } else {
      h.set('content-security-policy', html ? WEB_CSP : DATA_CSP)
      h.set('x-frame-options', 'DENY')
      if (html) h.set('cross-origin-opener-policy', 'same-origin')
    }
    if (path.startsWith('/auth/')) h.set('cache-control', 'no-store')
    else if (path.startsWith('/api/') && !h.has('cache-control')) h.set('cache-control', 'private, no-cache')
  }
}

// ----------------------------------------------------------------------------------- rate limiting

/** Node: the socket's peer address (@hono/node-server's `incoming`); undefined on Workers. */
export function peerAddress(c: Context): string | undefined {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming
  return incoming ? (incoming.socket?.remoteAddress ?? 'unknown') : undefined
}

/**
 * The client's IP. Workers: the cf-connecting-ip header Cloudflare sets. Node: the socket's peer,
 * or with TRUST_PROXY_HOPS = n > 0 the address n proxies back in X-Forwarded-For (forwardedFor).
 * The header is never read by default: without a proxy that rewrites it, the client writes it.
 */
export function clientIp(c: Context): string {
  const peer = peerAddress(c)
  if (peer === undefined) return c.req.header('cf-connecting-ip') ?? 'unknown'
  const hops = (c.var as Partial<AppEnv['Variables']> | undefined)?.deps?.config.TRUST_PROXY_HOPS ?? 0
  return (hops > 0 && forwardedFor(c.req.header('x-forwarded-for'), hops)) || peer
}

const IPV4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?$/
const IPV6 = /^\[([0-9a-f]*:[0-9a-f:.]*)\](?::\d{1,5})?$|^([0-9a-f]*:[0-9a-f:.]*)$/i

/**
 * The address `hops` proxies back in an X-Forwarded-For list: each trusted proxy appends the peer
 * it saw, so the client is the hops-th entry from the right (the leftmost when the list is shorter,
 * as when a client reached an inner proxy directly). Entries left of it are client-written and
 * ignored. A port some proxies add is dropped (else every connection would be its own client);
 * anything that is not an IP answers undefined.
 */
export function forwardedFor(header: string | undefined, hops: number): string | undefined {
  const list = (header ?? '').split(',').map((s) => s.trim())
  const entry = list[Math.max(0, list.length - hops)] ?? ''
  const v4 = IPV4.exec(entry)
  if (v4) return v4[1]
  const v6 = IPV6.exec(entry)
  return v6 ? (v6[1] ?? v6[2])!.toLowerCase() : undefined
}

/**
 * In-memory token buckets per key. On Node that is the whole process; on Workers it is per isolate
 * (each isolate keeps its own buckets), so it blunts bursts rather than enforcing a global quota.
 */
export class TokenBuckets {
  private buckets = new Map<string, { tokens: number; at: number }>()
  constructor(
    readonly capacity: number,
    readonly refillPerSecond: number,
    private readonly maxKeys = 10_000,
  ) {}

  /** 0 when a token was taken, else seconds until one is available. */
  take(key: string, nowMs: number): number {
    let b = this.buckets.get(key)
    if (b) {
      b.tokens = Math.min(this.capacity, b.tokens + ((nowMs - b.at) / 1000) * this.refillPerSecond)
      b.at = nowMs
      this.buckets.delete(key) // re-insert: Map order doubles as LRU order
    } else {
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!)
      b = { tokens: this.capacity, at: nowMs }
    }
    this.buckets.set(key, b)
    if (b.tokens >= 1) {
      b.tokens -= 1
      return 0
    }
    return Math.ceil((1 - b.tokens) / this.refillPerSecond)
  }
}

/**
 * Per-IP limit on sign-in routes. Defaults: a burst of 30, refilled at 30 a minute (web sign-in);
 * the widget exchange gets 120 (every open widget re-exchanges every 15 minutes, and a whole office
 * may share one NAT address).
 */
export function authRateLimit(buckets = new TokenBuckets(30, 30 / 60)): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method === 'OPTIONS') return next()
    const wait = buckets.take(clientIp(c), c.var.deps.now().getTime())
    if (wait > 0) {
      c.header('retry-after', String(wait))
      throw new AppError(429, 'RATE_LIMITED', 'Too many sign-in attempts; try again shortly')
    }
    await next()
  }
}

// ------------------------------------------------------------------------------------ input guard

/**
 * PostgreSQL text cannot hold NUL, so a %00 in a path or query value would reach the database as an
 * error (a 500) from whichever route received it. Refuse it once, here, as bad input.
 */
export const rejectNulBytes = createMiddleware<AppEnv>(async (c, next) => {
  if (/%00/.test(c.req.url)) throw badRequest('NUL bytes are not allowed in URLs', 'INVALID_INPUT')
  await next()
})

// -------------------------------------------------------------------------------------------- CSRF

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * CSRF: a strict Origin check. A state-changing request that carries the session cookie (and no
 * Bearer token) must come from our own origin: its Origin header's host must be the request's Host
 * (or, without Origin, Sec-Fetch-Site must say same-origin). Browsers send Origin on every
 * POST/PUT/PATCH/DELETE, so a missing one means it is refused too. Bearer requests (the widget) are
 * exempt by construction: a cross-site page cannot make the browser attach that header, and the
 * session cookie is SameSite=Lax on top.
 */
export const csrfGuard = createMiddleware<AppEnv>(async (c, next) => {
  if (SAFE_METHODS.has(c.req.method)) return next()
  if (c.req.header('authorization')?.startsWith('Bearer ')) return next()
  if (!getCookie(c, SESSION_COOKIE)) return next()
  const origin = c.req.header('origin')
  const site = c.req.header('sec-fetch-site')
  let ok = false
  if (origin && origin !== 'null') {
    try {
      const host = c.req.header('host') ?? new URL(c.req.url).host
      ok = new URL(origin).host === host && site !== 'cross-site' && site !== 'same-site'
    } catch {
      ok = false
    }
  } else ok = site === 'same-origin'
  if (!ok) throw forbidden('Cross-site request refused: send it from the Pipeline Pulse page', 'CSRF')
  await next()
})
