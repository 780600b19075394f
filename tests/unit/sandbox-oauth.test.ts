import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSandbox, type Sandbox } from '../../api/src/sandbox'

/** Response bodies in these tests are checked field by field, so read them untyped. */
const json = async (r: Response | Promise<Response>): Promise<any> => (await r).json()

let s: Sandbox
beforeAll(async () => {
  s = await startSandbox({ deals: 100 })
})
afterAll(() => s.close())

const token = (params: Record<string, string>) =>
  fetch(`${s.accountsUrl}/oauth/v2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  })

const refresh = (refresh_token: string) =>
  token({ grant_type: 'refresh_token', client_id: s.clientId, client_secret: s.clientSecret, refresh_token })

const org = (accessToken: string) =>
  fetch(`${s.apiDomain}/crm/v8/org`, { headers: { Authorization: `Zoho-oauthtoken ${accessToken}` } })

describe('sandbox Zoho Accounts', () => {
  it('runs the authorization-code flow as the user named by login_hint', async () => {
    const rep = s.users.reps[0]!
    const auth = new URL(`${s.accountsUrl}/oauth/v2/auth`)
    auth.search = new URLSearchParams({
      response_type: 'code',
      client_id: s.clientId,
      scope: 'ZohoCRM.modules.deals.READ,ZohoCRM.users.READ',
      redirect_uri: 'http://localhost:9/cb',
      access_type: 'offline',
      prompt: 'consent',
      state: 'st4te',
      login_hint: rep.email,
    }).toString()
    const res = await fetch(auth, { redirect: 'manual' })
    expect(res.status).toBe(302)
    const to = new URL(res.headers.get('location')!)
    expect(to.origin + to.pathname).toBe('http://localhost:9/cb')
    expect(to.searchParams.get('state')).toBe('st4te')
    expect(to.searchParams.get('location')).toBe('us')
    expect(to.searchParams.get('accounts-server')).toBe(s.accountsUrl)
    const code = to.searchParams.get('code')!

    // Query parameters work as well as a form body.
    const q = new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: s.clientId,
      client_secret: s.clientSecret,
      redirect_uri: 'http://localhost:9/cb',
      code,
    })
    const body = await json(fetch(`${s.accountsUrl}/oauth/v2/token?${q}`, { method: 'POST' }))
    expect(body).toMatchObject({ api_domain: s.apiDomain, token_type: 'Bearer', expires_in: 3600 })
    expect(body.refresh_token).toMatch(/^1000\./)
    const me = await json(
      fetch(`${s.apiDomain}/crm/v8/users?type=CurrentUser`, {
        headers: { Authorization: `Zoho-oauthtoken ${body.access_token}` },
      }),
    )
    expect(me.users[0].id).toBe(rep.id)

    // The code is single-use; errors come back with HTTP 200.
    const again = await fetch(`${s.accountsUrl}/oauth/v2/token?${q}`, { method: 'POST' })
    expect(again.status).toBe(200)
    expect(await json(again)).toEqual({ error: 'invalid_code' })
  })

  it('refuses a wrong client and throttles the 11th refresh in 10 minutes', async () => {
    const rt = s.issueRefreshToken()
    const bad = await token({
      grant_type: 'refresh_token',
      client_id: s.clientId,
      client_secret: 'nope',
      refresh_token: rt,
    })
    expect(bad.status).toBe(200)
    expect(await json(bad)).toEqual({ error: 'invalid_client' })
    for (let i = 0; i < 10; i++) {
      const ok = await json(refresh(rt))
      expect(ok.access_token).toBeTruthy()
      expect(ok.refresh_token).toBeUndefined()
      expect(ok.api_domain).toBe(s.apiDomain)
    }
    expect(await json(refresh(rt))).toEqual({
      error_description: 'You have made too many requests continuously. Please try again after some time.',
      error: 'Access Denied',
      status: 'failure',
    })
  })

  it('revoking a refresh token kills it and its access tokens', async () => {
    const rt = s.issueRefreshToken()
    const { access_token } = await json(refresh(rt))
    expect((await org(access_token)).status).toBe(200)
    const revoke = await fetch(`${s.accountsUrl}/oauth/v2/token/revoke?token=${rt}`, { method: 'POST' })
    expect(await json(revoke)).toEqual({ status: 'success' })
    const after = await org(access_token)
    expect(after.status).toBe(401)
    expect(await json(after)).toEqual({
      code: 'INVALID_TOKEN',
      details: {},
      message: 'invalid oauth token',
      status: 'error',
    })
    expect(await json(refresh(rt))).toEqual({ error: 'invalid_code' })
    expect(
      (await fetch(`${s.accountsUrl}/oauth/v2/token/revoke?token=${rt}`, { method: 'POST' })).status,
    ).toBe(400)
  })

  it('answers AUTHENTICATION_FAILURE without a Zoho-oauthtoken header and OAUTH_SCOPE_MISMATCH without the scope', async () => {
    const { access_token } = await json(refresh(s.issueRefreshToken(undefined, ['ZohoCRM.org.READ'])))
    const variants: Record<string, string>[] = [{}, { Authorization: `Bearer ${access_token}` }]
    for (const headers of variants) {
      const r = await fetch(`${s.apiDomain}/crm/v8/org`, { headers })
      expect(r.status).toBe(401)
      expect((await json(r)).code).toBe('AUTHENTICATION_FAILURE')
    }
    expect((await org(access_token)).status).toBe(200)
    const deals = await fetch(`${s.apiDomain}/crm/v8/Deals?fields=Deal_Name`, {
      headers: { Authorization: `Zoho-oauthtoken ${access_token}` },
    })
    expect(deals.status).toBe(401)
    expect((await json(deals)).code).toBe('OAUTH_SCOPE_MISMATCH')
  })
})
