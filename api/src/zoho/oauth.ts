import type { Config } from '../config'
import { ZohoOAuthError } from './errors'
import { parseZohoJson, tokenErrorSchema, tokenSuccessSchema } from './schemas'

/**
 * Zoho OAuth 2.0: per-DC hosts, the authorize URL, code exchange, refresh and revoke.
 * Every URL is built from the accounts server / API domain as given (a configured base may carry a
 * path, so strings are joined rather than resolved with new URL).
 */

export type ZohoDc = 'us' | 'eu' | 'in' | 'au' | 'jp' | 'cn' | 'ca' | 'sa'

export interface ZohoDcHosts {
  accountsServer: string
  apiDomain: string
  /** CRM web UI host, for links to records. */
  crmHost: string
}

export const ZOHO_DCS: Record<ZohoDc, ZohoDcHosts> = {
  us: {
    accountsServer: 'https://accounts.zoho.com',
    apiDomain: 'https://www.zohoapis.com',
    crmHost: 'https://crm.zoho.com',
  },
  eu: {
    accountsServer: 'https://accounts.zoho.eu',
    apiDomain: 'https://www.zohoapis.eu',
    crmHost: 'https://crm.zoho.eu',
  },
  in: {
    accountsServer: 'https://accounts.zoho.in',
    apiDomain: 'https://www.zohoapis.in',
    crmHost: 'https://crm.zoho.in',
  },
  au: {
    accountsServer: 'https://accounts.zoho.com.au',
    apiDomain: 'https://www.zohoapis.com.au',
    crmHost: 'https://crm.zoho.com.au',
  },
  jp: {
    accountsServer: 'https://accounts.zoho.jp',
    apiDomain: 'https://www.zohoapis.jp',
    crmHost: 'https://crm.zoho.jp',
  },
  cn: {
    accountsServer: 'https://accounts.zoho.com.cn',
    apiDomain: 'https://www.zohoapis.com.cn',
    crmHost: 'https://crm.zoho.com.cn',
  },
  // CA's accounts host is zohocloud.ca, not zoho.ca.
  ca: {
    accountsServer: 'https://accounts.zohocloud.ca',
    apiDomain: 'https://www.zohoapis.ca',
    crmHost: 'https://crm.zohocloud.ca',
  },
  sa: {
    accountsServer: 'https://accounts.zoho.sa',
    apiDomain: 'https://www.zohoapis.sa',
    crmHost: 'https://crm.zoho.sa',
  },
}

/** Scopes a read-only Deals sync needs (reference §1.5). */
export const ZOHO_SYNC_SCOPES = [
  'ZohoCRM.modules.deals.READ',
  'ZohoCRM.modules.accounts.READ',
  'ZohoCRM.users.READ',
  'ZohoCRM.org.READ',
  'ZohoCRM.settings.currencies.READ',
  'ZohoCRM.settings.fields.READ',
  'ZohoCRM.settings.layouts.READ',
  'ZohoCRM.settings.modules.READ',
  'ZohoCRM.settings.pipeline.READ',
  'ZohoCRM.settings.roles.READ',
  'ZohoCRM.settings.profiles.READ',
  // Watch channels (near-real-time callbacks when PUBLIC_URL is set); without it the sync polls.
  'ZohoCRM.notifications.ALL',
] as const

/** Base URL without trailing slashes, so `${base}/path` never doubles them. */
export const trimBase = (url: string) => url.replace(/\/+$/, '')

export const tokenUrl = (accountsServer: string) => `${trimBase(accountsServer)}/oauth/v2/token`

/** The DC whose API domain or accounts server this URL is (sandbox./developer. hosts included). */
export function dcOf(url: string): ZohoDc | null {
  let host: string
  try {
    host = new URL(url).hostname
  } catch {
    return null
  }
  for (const [dc, h] of Object.entries(ZOHO_DCS) as [ZohoDc, ZohoDcHosts][]) {
    const apiTld = new URL(h.apiDomain).hostname.replace(/^www\.zohoapis\./, '')
    if (host === new URL(h.accountsServer).hostname) return dc
    if (
      /^(www|sandbox|developer)\.zohoapis\./.test(host) &&
      host.replace(/^[a-z]+\.zohoapis\./, '') === apiTld
    )
      return dc
  }
  return null
}

const DEFAULT_ACCOUNTS = ZOHO_DCS.us.accountsServer
const DEFAULT_API = ZOHO_DCS.us.apiDomain

/**
 * Where to start OAuth and which API domain to use from config. ZOHO_ACCOUNTS_URL / ZOHO_API_DOMAIN
 * are honoured exactly when set to anything but the US defaults (any server speaking these APIs);
 * left at the defaults, ZOHO_REGION picks the DC's hosts.
 */
export function zohoEndpoints(
  config: Pick<Config, 'ZOHO_ACCOUNTS_URL' | 'ZOHO_API_DOMAIN' | 'ZOHO_REGION'>,
): { accountsServer: string; apiDomain: string; apiDomainConfigured: boolean } {
  const dc = ZOHO_DCS[config.ZOHO_REGION]
  const accounts = trimBase(config.ZOHO_ACCOUNTS_URL)
  const api = trimBase(config.ZOHO_API_DOMAIN)
  return {
    accountsServer: accounts === DEFAULT_ACCOUNTS ? dc.accountsServer : accounts,
    apiDomain: api === DEFAULT_API ? dc.apiDomain : api,
    apiDomainConfigured: api !== DEFAULT_API,
  }
}

/**
 * The API domain to store for a new connection: ZOHO_API_DOMAIN when explicitly configured, else
 * the `api_domain` of the token response (it names the user's DC), else the region's default.
 */
export function connectionApiDomain(
  config: Pick<Config, 'ZOHO_ACCOUNTS_URL' | 'ZOHO_API_DOMAIN' | 'ZOHO_REGION'>,
  tokenApiDomain: string | null,
): string {
  const e = zohoEndpoints(config)
  if (e.apiDomainConfigured || !tokenApiDomain) return e.apiDomain
  return trimBase(tokenApiDomain)
}

/** CRM web host for record links, or null for a non-Zoho (e.g. self-hosted test) server. */
export const crmHostFor = (apiDomain: string): string | null => {
  const dc = dcOf(apiDomain)
  return dc ? ZOHO_DCS[dc].crmHost : null
}

/**
 * The accounts server to exchange a code at: the `accounts-server` the redirect returned when it is
 * a real Zoho accounts host or the configured ZOHO_ACCOUNTS_URL; anything else is refused, since
 * the client secret is posted there.
 */
export function resolveAccountsServer(returned: string | null | undefined, configured: string): string {
  if (!returned) return trimBase(configured)
  const r = trimBase(returned)
  if (r === trimBase(configured)) return r
  const known = Object.values(ZOHO_DCS).some((h) => h.accountsServer === r)
  if (!known)
    throw new ZohoOAuthError(
      'invalid_accounts_server',
      `Unexpected accounts-server in the Zoho redirect: ${r}`,
    )
  return r
}

export interface AuthorizeUrlParams {
  accountsServer: string
  clientId: string
  redirectUri: string
  scopes: readonly string[]
  state: string
  /** Admin connect: offline + consent, so Zoho issues a refresh token. Plain sign-in: online. */
  accessType?: 'offline' | 'online'
  prompt?: 'consent' | null
  codeChallenge?: string
  codeChallengeMethod?: 'S256' | 'plain'
}

export function buildAuthorizeUrl(p: AuthorizeUrlParams): string {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: p.clientId,
    scope: p.scopes.join(','),
    redirect_uri: p.redirectUri,
    state: p.state,
    access_type: p.accessType ?? 'offline',
  })
  const prompt = p.prompt === undefined ? (p.accessType === 'online' ? null : 'consent') : p.prompt
  if (prompt) q.set('prompt', prompt)
  if (p.codeChallenge) {
    q.set('code_challenge', p.codeChallenge)
    q.set('code_challenge_method', p.codeChallengeMethod ?? 'S256')
  }
  return `${trimBase(p.accountsServer)}/oauth/v2/auth?${q}`
}

/** PKCE: a random verifier and its S256 challenge (WebCrypto, both runtimes). */
export async function createPkcePair(): Promise<{ verifier: string; challenge: string }> {
  const b64url = (b: Uint8Array) =>
    btoa(String.fromCharCode(...b))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '')
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)))
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))
  return { verifier, challenge: b64url(new Uint8Array(digest)) }
}

export interface ZohoTokenSet {
  accessToken: string
  /** Only from a code exchange. */
  refreshToken: string | null
  /** The DC's API domain as Zoho reported it (null if absent). */
  apiDomain: string | null
  expiresInSec: number
  expiresAt: Date
  scope: string | null
}

interface TokenCall {
  fetch: typeof fetch
  now?: () => Date
}

async function postToken(accountsServer: string, form: Record<string, string>, call: TokenCall) {
  const res = await call.fetch(tokenUrl(accountsServer), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form).toString(),
  })
  const text = await res.text()
  let body: unknown
  try {
    body = text ? parseZohoJson(text) : {}
  } catch {
    throw new ZohoOAuthError(
      'invalid_response',
      `Zoho token endpoint answered HTTP ${res.status} with a non-JSON body`,
      res.status,
    )
  }
  const parsed = tokenSuccessSchema.safeParse(body)
  // Errors often arrive with HTTP 200: the access_token key decides, not the status.
  if (!parsed.success) {
    const e = tokenErrorSchema.safeParse(body)
    const code = e.success ? e.data.error : `http_${res.status}`
    const desc = e.success && e.data.error_description ? `: ${e.data.error_description}` : ''
    throw new ZohoOAuthError(code, `Zoho token endpoint refused (${code})${desc}`, res.status)
  }
  const t = parsed.data
  // expires_in is seconds; when expires_in_sec is present, expires_in is milliseconds.
  const expiresInSec = t.expires_in_sec ?? t.expires_in ?? 3600
  const now = call.now?.() ?? new Date()
  return {
    accessToken: t.access_token,
    refreshToken: t.refresh_token ?? null,
    apiDomain: t.api_domain ? trimBase(t.api_domain) : null,
    expiresInSec,
    expiresAt: new Date(now.getTime() + expiresInSec * 1000),
    scope: t.scope ?? null,
  } satisfies ZohoTokenSet
}

export interface ClientCredentials {
  clientId: string
  clientSecret: string
}

/** Exchange a grant code at the accounts server the redirect returned. */
export function exchangeCode(
  p: ClientCredentials &
    TokenCall & { accountsServer: string; code: string; redirectUri: string; codeVerifier?: string },
): Promise<ZohoTokenSet> {
  const form: Record<string, string> = {
    grant_type: 'authorization_code',
    client_id: p.clientId,
    client_secret: p.clientSecret,
    redirect_uri: p.redirectUri,
    code: p.code,
  }
  if (p.codeVerifier) form.code_verifier = p.codeVerifier
  return postToken(p.accountsServer, form, p)
}

/** Mint an access token from a refresh token (at most 10 per 10 minutes per refresh token). */
export function refreshAccessToken(
  p: ClientCredentials & TokenCall & { accountsServer: string; refreshToken: string },
): Promise<ZohoTokenSet> {
  return postToken(
    p.accountsServer,
    {
      grant_type: 'refresh_token',
      client_id: p.clientId,
      client_secret: p.clientSecret,
      refresh_token: p.refreshToken,
    },
    p,
  )
}

/**
 * Revoke a refresh token (which also kills its access tokens). An already invalid token (HTTP 400)
 * counts as revoked; other failures throw.
 */
export async function revokeToken(p: TokenCall & { accountsServer: string; token: string }): Promise<void> {
  const res = await p.fetch(
    `${tokenUrl(p.accountsServer)}/revoke?${new URLSearchParams({ token: p.token })}`,
    {
      method: 'POST',
      headers: { accept: 'application/json' },
    },
  )
  const text = await res.text()
  if (res.status === 400) return
  let body: { status?: unknown; error?: unknown } = {}
  try {
    body = text ? (JSON.parse(text) as typeof body) : {}
  } catch {
    /* judged by status below */
  }
  if (!res.ok || typeof body.error === 'string' || (body.status && body.status !== 'success'))
    throw new ZohoOAuthError(
      typeof body.error === 'string' ? body.error : `http_${res.status}`,
      `Zoho refused to revoke the token (HTTP ${res.status})`,
      res.status,
    )
}
