import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { query } from '../../api/src/db/client'
import { clientForOrg } from '../../api/src/zoho/client'
import { completeConnection, connectWithRefreshToken } from '../../api/src/zoho/connect'
import {
  createTokenProvider,
  loadConnection,
  revokeConnection,
  TokenRegistry,
} from '../../api/src/zoho/connection'
import { ZohoApiError, ZohoBudgetError, ZohoConnectionError } from '../../api/src/zoho/errors'
import {
  buildAuthorizeUrl,
  exchangeCode,
  resolveAccountsServer,
  ZOHO_SYNC_SCOPES,
} from '../../api/src/zoho/oauth'
import { recordedZohoCalls, testDbKind } from '../helpers/db'
import { connect, crmCalls, startZohoTestEnv, tokenCalls, type ZohoTestEnv } from './setup'

/** The stored connection and its token provider, against the sandbox Accounts + CRM servers. */
describe(`Zoho connection and tokens (${testDbKind})`, () => {
  let env: ZohoTestEnv
  let orgId: string
  const db = () => env.database.db
  const clientIn = (registry: TokenRegistry, extra: Parameters<typeof clientForOrg>[4] = {}) =>
    clientForOrg(db(), env.config, orgId, fetch, { registry, sleep: env.sleep, ...extra })
  /** Puts the stored access token `ms` from expiry (negative: already expired). */
  const setExpiry = (ms: number) =>
    query(
      db(),
      sql`update zoho_connections set access_token_expires_at = ${new Date(Date.now() + ms).toISOString()}::timestamptz
          where org_id = ${orgId}`,
    )
  const row = async () =>
    (
      await query<{
        status: string
        last_error: string | null
        refresh_log: string[]
        access_token_enc: string | null
      }>(
        db(),
        sql`select status, last_error, refresh_log, access_token_enc from zoho_connections where org_id = ${orgId}`,
      )
    )[0]!

  const recordedCalls = () => recordedZohoCalls(db(), orgId)

  beforeAll(async () => {
    env = await startZohoTestEnv({ deals: 300 })
  })
  afterAll(() => env.close())
  beforeEach(async () => {
    env.sandbox.setFaults({})
    orgId = await connect(env)
    env.sandbox.resetCalls()
  })

  it('connects through the authorization-code flow at the accounts-server the redirect names', async () => {
    const { sandbox, config } = env
    const redirectUri = 'http://127.0.0.1:1/auth/zoho/callback'
    const authorize = buildAuthorizeUrl({
      accountsServer: config.ZOHO_ACCOUNTS_URL,
      clientId: sandbox.clientId,
      redirectUri,
      scopes: ZOHO_SYNC_SCOPES,
      state: 'st8',
    })
    const res = await fetch(authorize, { redirect: 'manual' })
    expect(res.status).toBe(302)
    const back = new URL(res.headers.get('location')!)
    expect(back.searchParams.get('state')).toBe('st8')
    const accountsServer = resolveAccountsServer(
      back.searchParams.get('accounts-server'),
      config.ZOHO_ACCOUNTS_URL,
    )
    const tokens = await exchangeCode({
      accountsServer,
      clientId: sandbox.clientId,
      clientSecret: sandbox.clientSecret,
      code: back.searchParams.get('code')!,
      redirectUri,
      fetch,
    })
    expect(tokens.refreshToken).toBeTruthy()
    expect(tokens.apiDomain).toBe(sandbox.apiDomain)
    expect(tokens.expiresInSec).toBe(3600)
    // A grant code is single use.
    await expect(
      exchangeCode({
        accountsServer,
        clientId: sandbox.clientId,
        clientSecret: sandbox.clientSecret,
        code: back.searchParams.get('code')!,
        redirectUri,
        fetch,
      }),
    ).rejects.toMatchObject({ code: 'invalid_code' })

    const calls = await recordedCalls()
    const done = await completeConnection(db(), config, {
      accountsServer,
      tokens,
      connectedByUserId: sandbox.users.admin.id,
      fetch,
    })
    expect(done.orgId).toBe(orgId)
    expect(done.apiDomain).toBe(sandbox.apiDomain)
    // Reading the org was a Zoho call: it counts in the org's hourly budget.
    expect(crmCalls(sandbox)).toHaveLength(1)
    expect(await recordedCalls()).toBe(calls + 1)
    const [stored] = await query<{ refresh_token_enc: string; access_token_enc: string }>(
      db(),
      sql`select refresh_token_enc, access_token_enc from zoho_connections where org_id = ${orgId}`,
    )
    expect(stored!.refresh_token_enc).not.toContain(tokens.refreshToken!)
    expect(stored!.access_token_enc).not.toContain(tokens.accessToken)
    const conn = await loadConnection(db(), config.secretKey, orgId)
    expect(conn).toMatchObject({
      refreshToken: tokens.refreshToken,
      status: 'active',
      accountsServer,
      apiDomain: sandbox.apiDomain,
      connectedByUserId: sandbox.users.admin.id,
      refreshLog: [],
    })

    env.sandbox.resetCalls()
    const c = await clientIn(new TokenRegistry())
    expect((await c.getOrg()).id).toBe(orgId)
    // The exchange's access token is reused; calls go to the stored api domain.
    expect(tokenCalls(sandbox)).toHaveLength(0)
    expect(crmCalls(sandbox)).toHaveLength(1)
    // Refreshes go to the stored accounts server.
    await setExpiry(-1000)
    await (await clientIn(new TokenRegistry())).getOrg()
    expect(tokenCalls(sandbox)).toHaveLength(1)
  })

  it('connects a Self Client refresh token once, counting its mint in the budget', async () => {
    const refreshToken = env.sandbox.issueRefreshToken()
    const config = { ...env.config, ZOHO_REFRESH_TOKEN: refreshToken }
    const { orgId: id } = await connectWithRefreshToken(db(), config, fetch)
    expect(id).toBe(orgId)
    expect(tokenCalls(env.sandbox)).toHaveLength(1)
    expect((await row()).refresh_log).toHaveLength(1)
    await connectWithRefreshToken(db(), config, fetch, { knownOrgId: orgId })
    expect(tokenCalls(env.sandbox)).toHaveLength(1)
    const c = await clientIn(new TokenRegistry())
    await c.getRoles()
    expect(tokenCalls(env.sandbox)).toHaveLength(1)
  })

  it('refreshes ahead of expiry exactly once when 10 requests race, across two processes', async () => {
    const first = await clientIn(new TokenRegistry())
    await first.getOrg() // mints the shared token
    expect(tokenCalls(env.sandbox)).toHaveLength(1)

    // Another process finds the token in the row: no refresh.
    const other = await clientIn(new TokenRegistry())
    await other.getOrg()
    expect(tokenCalls(env.sandbox)).toHaveLength(1)

    await setExpiry(2 * 60_000) // inside the 5-minute refresh window
    const procA = await clientIn(new TokenRegistry())
    const procB = await clientIn(new TokenRegistry())
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => ((i % 2 ? procA : procB) as typeof procA).getRoles()),
    )
    expect(results.every((r) => r.length > 0)).toBe(true)
    expect(tokenCalls(env.sandbox)).toHaveLength(2)
    expect((await row()).refresh_log).toHaveLength(2)

    // Already-expired token, 10 racing callers in one process: one refresh, everyone served.
    await setExpiry(-1000)
    const procC = await clientIn(new TokenRegistry())
    await Promise.all(Array.from({ length: 10 }, () => procC.getOrg()))
    expect(tokenCalls(env.sandbox)).toHaveLength(3)
  })

  it('refreshes and replays once on 401 INVALID_TOKEN', async () => {
    const c = await clientIn(new TokenRegistry())
    await c.getOrg()
    env.sandbox.expireAccessTokens()
    env.sandbox.resetCalls()
    const roles = await c.getRoles()
    expect(roles.length).toBeGreaterThan(0)
    expect(crmCalls(env.sandbox).map((x) => x.status)).toEqual([401, 200])
    expect(tokenCalls(env.sandbox)).toHaveLength(1)
    expect(c.stats.calls).toBe(3)
    expect((await row()).status).toBe('active')

    // Tokens dying every call: each call refreshes once and succeeds on the replay.
    env.sandbox.setFaults({ expireTokenEveryCalls: 1 })
    env.sandbox.resetCalls()
    await c.getRoles()
    await c.getProfiles()
    expect(crmCalls(env.sandbox).map((x) => x.status)).toEqual([401, 200, 401, 200])
  })

  it('never refreshes more than 10 times in 10 minutes, and says so', async () => {
    env.sandbox.setFaults({ expireTokenEveryCalls: 1 })
    const c = await clientIn(new TokenRegistry())
    let err: unknown
    let served = 0
    for (let i = 0; i < 15 && !err; i++) {
      try {
        await c.getRoles()
        served++
      } catch (e) {
        err = e
      }
    }
    expect(err).toBeInstanceOf(ZohoBudgetError)
    expect((err as ZohoBudgetError).budget).toBe('token_refresh')
    expect((err as Error).message).toMatch(/10 times in 10 minutes/)
    expect(tokenCalls(env.sandbox)).toHaveLength(10)
    expect(served).toBe(10)
    expect((await row()).refresh_log).toHaveLength(10)
    // Another process reads the same budget from the row and does not refresh either.
    const other = await clientIn(new TokenRegistry())
    await expect(other.getOrg()).rejects.toBeInstanceOf(ZohoBudgetError)
    expect(tokenCalls(env.sandbox)).toHaveLength(10)
    // The connection itself is fine: nothing to reconnect.
    expect((await row()).status).toBe('active')
  })

  it('marks the connection broken on OAUTH_SCOPE_MISMATCH, without retrying', async () => {
    await connect(env, env.sandbox.issueRefreshToken(undefined, ['ZohoCRM.org.READ', 'ZohoCRM.settings.ALL']))
    env.sandbox.resetCalls()
    const c = await clientIn(new TokenRegistry())
    const err = (await c.getUsers('AllUsers').catch((e: unknown) => e)) as ZohoApiError
    expect(err).toBeInstanceOf(ZohoApiError)
    expect(err.code).toBe('OAUTH_SCOPE_MISMATCH')
    expect(crmCalls(env.sandbox)).toHaveLength(1)
    expect(tokenCalls(env.sandbox)).toHaveLength(1)
    const r = await row()
    expect(r.status).toBe('broken')
    expect(r.last_error).toMatch(/OAUTH_SCOPE_MISMATCH.*reconnect/)
    expect(r.access_token_enc).toBeNull()
    await expect(clientIn(new TokenRegistry())).rejects.toMatchObject({ state: 'broken' })
    await expect(c.getOrg()).rejects.toBeInstanceOf(ZohoConnectionError)
  })

  it('marks the connection broken when Zoho refuses the refresh token (invalid_code)', async () => {
    const conn = (await loadConnection(db(), env.config.secretKey, orgId))!
    // Revoked elsewhere (e.g. the user's 21st refresh token evicted it).
    await fetch(
      `${env.sandbox.accountsUrl}/oauth/v2/token/revoke?token=${encodeURIComponent(conn.refreshToken)}`,
      {
        method: 'POST',
      },
    )
    env.sandbox.resetCalls()
    const c = await clientIn(new TokenRegistry())
    const err = await c.getOrg().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ZohoConnectionError)
    expect((err as Error).message).toMatch(/invalid_code/)
    expect(tokenCalls(env.sandbox)).toHaveLength(1)
    expect(crmCalls(env.sandbox)).toHaveLength(0)
    expect((await row()).status).toBe('broken')
  })

  it('revokes at Zoho on disconnect and stops using the connection', async () => {
    const c = await clientIn(new TokenRegistry())
    await c.getOrg()
    const conn = (await loadConnection(db(), env.config.secretKey, orgId))!
    const result = await revokeConnection(db(), env.config.secretKey, orgId, { fetch })
    expect(result).toEqual({ revokedAtZoho: true })
    const revokes = env.sandbox.calls.filter((x) => x.path === '/oauth/v2/token/revoke')
    expect(revokes.map((x) => x.status)).toEqual([200])
    expect((await row()).status).toBe('revoked')
    // Zoho no longer accepts the refresh token.
    const again = await fetch(`${env.sandbox.accountsUrl}/oauth/v2/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: env.sandbox.clientId,
        client_secret: env.sandbox.clientSecret,
        refresh_token: conn.refreshToken,
      }),
    })
    expect(await again.json()).toEqual({ error: 'invalid_code' })
    await expect(clientIn(new TokenRegistry())).rejects.toMatchObject({ state: 'revoked' })
    // A token provider built before the disconnect refuses too.
    const provider = createTokenProvider(db(), {
      orgId,
      secretKey: env.config.secretKey,
      clientId: env.sandbox.clientId,
      clientSecret: env.sandbox.clientSecret,
      fetch,
      registry: new TokenRegistry(),
    })
    await expect(provider.get()).rejects.toMatchObject({ state: 'revoked' })
  })
})
