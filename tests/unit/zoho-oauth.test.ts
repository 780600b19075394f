import { describe, expect, it } from 'vitest'
import { ZohoOAuthError } from '../../api/src/zoho/errors'
import {
  buildAuthorizeUrl,
  connectionApiDomain,
  crmHostFor,
  createPkcePair,
  dcOf,
  exchangeCode,
  refreshAccessToken,
  resolveAccountsServer,
  revokeToken,
  ZOHO_DCS,
  zohoEndpoints,
} from '../../api/src/zoho/oauth'

/** Zoho's accounts server is the edge of the world here: a recording stand-in answers its endpoints. */
function accounts(answer: (url: URL, init: RequestInit) => { status?: number; body: unknown }) {
  const seen: { url: URL; init: RequestInit; form: URLSearchParams }[] = []
  const fetch = (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(String(input))
    seen.push({ url, init, form: new URLSearchParams(String(init.body ?? '')) })
    const a = answer(url, init)
    return new Response(typeof a.body === 'string' ? a.body : JSON.stringify(a.body), {
      status: a.status ?? 200,
    })
  }) as typeof globalThis.fetch
  return { fetch, seen }
}

describe('Zoho data centres', () => {
  it('knows every DC, with CA on zohocloud.ca', () => {
    expect(Object.keys(ZOHO_DCS).sort()).toEqual(['au', 'ca', 'cn', 'eu', 'in', 'jp', 'sa', 'us'])
    expect(ZOHO_DCS.ca).toMatchObject({
      accountsServer: 'https://accounts.zohocloud.ca',
      apiDomain: 'https://www.zohoapis.ca',
    })
    expect(ZOHO_DCS.au.accountsServer).toBe('https://accounts.zoho.com.au')
    expect(dcOf('https://www.zohoapis.com.au')).toBe('au')
    expect(dcOf('https://sandbox.zohoapis.eu')).toBe('eu')
    expect(dcOf('https://accounts.zohocloud.ca')).toBe('ca')
    expect(dcOf('http://127.0.0.1:9999')).toBeNull()
    expect(crmHostFor('https://www.zohoapis.in')).toBe('https://crm.zoho.in')
  })

  it('exchanges at the accounts-server the redirect returned, but only a Zoho one or the configured one', () => {
    expect(resolveAccountsServer('https://accounts.zoho.eu', 'https://accounts.zoho.com')).toBe(
      'https://accounts.zoho.eu',
    )
    expect(resolveAccountsServer(undefined, 'https://accounts.zoho.com/')).toBe('https://accounts.zoho.com')
    expect(resolveAccountsServer('http://127.0.0.1:4000/', 'http://127.0.0.1:4000')).toBe(
      'http://127.0.0.1:4000',
    )
    expect(() => resolveAccountsServer('https://evil.example', 'https://accounts.zoho.com')).toThrow(
      ZohoOAuthError,
    )
  })
})

describe('configured endpoints', () => {
  const cfg = (over: Partial<Parameters<typeof zohoEndpoints>[0]>) => ({
    ZOHO_ACCOUNTS_URL: 'https://accounts.zoho.com',
    ZOHO_API_DOMAIN: 'https://www.zohoapis.com',
    ZOHO_REGION: 'us' as const,
    ...over,
  })

  it('uses the region when the URLs are left at their defaults', () => {
    expect(zohoEndpoints(cfg({ ZOHO_REGION: 'ca' }))).toEqual({
      accountsServer: 'https://accounts.zohocloud.ca',
      apiDomain: 'https://www.zohoapis.ca',
      apiDomainConfigured: false,
    })
    // The token response names the user's DC.
    expect(connectionApiDomain(cfg({}), 'https://www.zohoapis.eu')).toBe('https://www.zohoapis.eu')
    expect(connectionApiDomain(cfg({ ZOHO_REGION: 'in' }), null)).toBe('https://www.zohoapis.in')
  })

  it('honours ZOHO_ACCOUNTS_URL and ZOHO_API_DOMAIN exactly when set', () => {
    const c = cfg({
      ZOHO_ACCOUNTS_URL: 'http://10.0.0.5:8080/accounts/',
      ZOHO_API_DOMAIN: 'http://10.0.0.5:8080/api',
    })
    expect(zohoEndpoints(c)).toEqual({
      accountsServer: 'http://10.0.0.5:8080/accounts',
      apiDomain: 'http://10.0.0.5:8080/api',
      apiDomainConfigured: true,
    })
    expect(connectionApiDomain(c, 'https://www.zohoapis.com')).toBe('http://10.0.0.5:8080/api')
  })
})

describe('authorize URL', () => {
  it('asks for offline access with consent, comma-separated scopes and the state', () => {
    const url = new URL(
      buildAuthorizeUrl({
        accountsServer: 'https://accounts.zoho.com/',
        clientId: 'cid',
        redirectUri: 'https://app.example/auth/zoho/callback',
        scopes: ['ZohoCRM.modules.deals.READ', 'ZohoCRM.users.READ'],
        state: 's1',
      }),
    )
    expect(url.origin + url.pathname).toBe('https://accounts.zoho.com/oauth/v2/auth')
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'cid',
      scope: 'ZohoCRM.modules.deals.READ,ZohoCRM.users.READ',
      redirect_uri: 'https://app.example/auth/zoho/callback',
      state: 's1',
      access_type: 'offline',
      prompt: 'consent',
    })
  })

  it('adds PKCE when given and keeps a configured base path', async () => {
    const { verifier, challenge } = await createPkcePair()
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const url = new URL(
      buildAuthorizeUrl({
        accountsServer: 'http://127.0.0.1:9/zoho-accounts',
        clientId: 'c',
        redirectUri: 'http://x/cb',
        scopes: ['ZohoCRM.users.READ'],
        state: 's',
        accessType: 'online',
        codeChallenge: challenge,
      }),
    )
    expect(url.pathname).toBe('/zoho-accounts/oauth/v2/auth')
    expect(url.searchParams.get('access_type')).toBe('online')
    expect(url.searchParams.has('prompt')).toBe(false)
    expect(url.searchParams.get('code_challenge')).toBe(challenge)
    expect(url.searchParams.get('code_challenge_method')).toBe('S256')
  })
})

describe('token endpoint', () => {
  const creds = { clientId: 'cid', clientSecret: 'sec' }
  const now = () => new Date('2026-01-01T00:00:00Z')

  it('exchanges a code (with the PKCE verifier) and keeps api_domain; expires_in is seconds', async () => {
    const z = accounts(() => ({
      body: {
        access_token: '1000.a',
        refresh_token: '1000.r',
        api_domain: 'https://www.zohoapis.eu',
        token_type: 'Bearer',
        expires_in: 3600,
        scope: 'ZohoCRM.users.READ',
      },
    }))
    const t = await exchangeCode({
      ...creds,
      accountsServer: 'https://accounts.zoho.eu',
      code: 'c0de',
      redirectUri: 'https://app/cb',
      codeVerifier: 'v',
      fetch: z.fetch,
      now,
    })
    expect(t).toMatchObject({
      accessToken: '1000.a',
      refreshToken: '1000.r',
      apiDomain: 'https://www.zohoapis.eu',
      expiresInSec: 3600,
      scope: 'ZohoCRM.users.READ',
    })
    expect(t.expiresAt.toISOString()).toBe('2026-01-01T01:00:00.000Z')
    expect(z.seen[0]!.url.toString()).toBe('https://accounts.zoho.eu/oauth/v2/token')
    expect(Object.fromEntries(z.seen[0]!.form)).toEqual({
      grant_type: 'authorization_code',
      client_id: 'cid',
      client_secret: 'sec',
      redirect_uri: 'https://app/cb',
      code: 'c0de',
      code_verifier: 'v',
    })
  })

  it('reads expires_in as milliseconds when expires_in_sec is present', async () => {
    const z = accounts(() => ({ body: { access_token: 'a', expires_in: 3_600_000, expires_in_sec: 3600 } }))
    const t = await refreshAccessToken({
      ...creds,
      accountsServer: 'https://accounts.zoho.com',
      refreshToken: 'r',
      fetch: z.fetch,
      now,
    })
    expect(t.expiresInSec).toBe(3600)
    expect(t.refreshToken).toBeNull()
    expect(Object.fromEntries(z.seen[0]!.form)).toMatchObject({
      grant_type: 'refresh_token',
      refresh_token: 'r',
    })
  })

  it('treats {"error":...} with HTTP 200 as a failure, with the code', async () => {
    const z = accounts(() => ({ body: { error: 'invalid_code' } }))
    const err = await refreshAccessToken({
      ...creds,
      accountsServer: 'https://accounts.zoho.com',
      refreshToken: 'r',
      fetch: z.fetch,
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ZohoOAuthError)
    expect(err).toMatchObject({ code: 'invalid_code', status: 200, needsReconnect: true })

    const throttled = accounts(() => ({
      body: {
        error_description: 'You have made too many requests continuously.',
        error: 'Access Denied',
        status: 'failure',
      },
    }))
    const e2 = await refreshAccessToken({
      ...creds,
      accountsServer: 'https://accounts.zoho.com',
      refreshToken: 'r',
      fetch: throttled.fetch,
    }).catch((e: unknown) => e)
    expect(e2).toMatchObject({ code: 'Access Denied', needsReconnect: false })
    expect((e2 as Error).message).toContain('too many requests')
  })

  it('revokes with POST …/oauth/v2/token/revoke?token=', async () => {
    const z = accounts(() => ({ body: { status: 'success' } }))
    await revokeToken({ accountsServer: 'https://accounts.zohocloud.ca', token: '1000.r', fetch: z.fetch })
    expect(z.seen[0]!.init.method).toBe('POST')
    expect(z.seen[0]!.url.toString()).toBe('https://accounts.zohocloud.ca/oauth/v2/token/revoke?token=1000.r')
    // An already invalid token is as good as revoked.
    const gone = accounts(() => ({ status: 400, body: { status: 'failure' } }))
    await expect(
      revokeToken({ accountsServer: 'https://accounts.zoho.com', token: 'x', fetch: gone.fetch }),
    ).resolves.toBeUndefined()
    const down = accounts(() => ({ status: 503, body: 'oops' }))
    await expect(
      revokeToken({ accountsServer: 'https://accounts.zoho.com', token: 'x', fetch: down.fetch }),
    ).rejects.toThrow(ZohoOAuthError)
  })
})
