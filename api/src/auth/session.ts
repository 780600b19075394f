import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import type { Config } from '../config'
import type { AppEnv } from '../http/types'
import { SESSION_COOKIE, SESSION_PURPOSE, type SessionClaims } from './middleware'
import { servedOverHttps } from './security'
import { signToken, verifyToken, type TokenClaims } from './token'

/**
 * Cookies of the web view: the session (pp_session) and the short-lived OAuth transaction
 * (pp_oauth: signed state + PKCE verifier). HttpOnly, SameSite=Lax (the OAuth callback is a top-level
 * GET from Zoho, which Lax allows), Secure whenever the app is served over https (servedOverHttps:
 * production, an https request, or an https PUBLIC_URL / ZOHO_REDIRECT_URI), so that plain-http
 * local development still works.
 */

export const OAUTH_COOKIE = 'pp_oauth'
export const OAUTH_STATE_PURPOSE = 'oauth-state'
/** First run: a Zoho Administrator of an org that is not connected yet may go on to connect it. */
export const CONNECT_GRANT_COOKIE = 'pp_connect'
export const CONNECT_GRANT_PURPOSE = 'connect-grant'
export const OAUTH_TTL_SECONDS = 600

export const secureCookies = (config: Config, c?: Context) => servedOverHttps(config, c)

function cookieOpts(c: Context<AppEnv>, path: string, maxAge: number) {
  const secure = secureCookies(c.var.deps.config, c)
  return { httpOnly: true, secure, sameSite: 'Lax' as const, path, maxAge }
}

export async function startSession(
  c: Context<AppEnv>,
  claims: Omit<SessionClaims, 'exp'>,
): Promise<{ expiresAt: Date }> {
  const { config } = c.var.deps
  const ttl = config.ACCESS_TOKEN_EXPIRE_MINUTES * 60
  const exp = Math.floor(c.var.deps.now().getTime() / 1000) + ttl
  const token = await signToken(config.secretKey, SESSION_PURPOSE, { ...claims, exp })
  setCookie(c, SESSION_COOKIE, token, cookieOpts(c, '/', ttl))
  return { expiresAt: new Date(exp * 1000) }
}

export function endSession(c: Context<AppEnv>) {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: secureCookies(c.var.deps.config, c) })
}

/** The OAuth transaction kept between /auth/zoho/login|connect and the callback. */
export interface OAuthTxn extends TokenClaims {
  /** Random value; the `state` sent to Zoho is a signed token over it. */
  n: string
  verifier: string
  mode: 'login' | 'connect'
  redirectUri: string
  /** Where to land afterwards (a same-site path). */
  next: string
}

export async function putSignedCookie(
  c: Context<AppEnv>,
  name: string,
  purpose: string,
  claims: Omit<TokenClaims, 'exp'>,
  ttlSeconds: number,
  path = '/auth/zoho',
) {
  const { config } = c.var.deps
  const exp = Math.floor(c.var.deps.now().getTime() / 1000) + ttlSeconds
  const token = await signToken(config.secretKey, purpose, { ...claims, exp })
  setCookie(c, name, token, cookieOpts(c, path, ttlSeconds))
  return token
}

export async function takeSignedCookie<T extends TokenClaims>(
  c: Context<AppEnv>,
  name: string,
  purpose: string,
  path = '/auth/zoho',
): Promise<T | null> {
  const raw = getCookie(c, name)
  if (!raw) return null
  deleteCookie(c, name, { path, secure: secureCookies(c.var.deps.config, c) })
  return verifyToken<T>(c.var.deps.config.secretKey, purpose, raw, c.var.deps.now().getTime())
}

/** Only same-site absolute paths: `/x`, never `//host` or `/\host` (open-redirect guard). */
export function safeNext(next: string | undefined | null): string {
  if (!next || !/^\/(?![/\\])[\x21-\x7e]*$/.test(next) || next.length > 512) return '/'
  return next
}
