import type { Config } from '../../api/src/config'
import { loadConfig } from '../../api/src/config'
import type { Database } from '../../api/src/db/client'
import { startSandbox, type Sandbox, type SandboxOptions } from '../../api/src/sandbox'
import { createZohoClient, type TokenSource } from '../../api/src/zoho/client'
import { saveConnection } from '../../api/src/zoho/connection'
import { refreshAccessToken } from '../../api/src/zoho/oauth'
import { createTestDatabase } from '../helpers/db'

/** A running sandbox Zoho, a fresh database and a config pointing at the sandbox (real HTTP). */
export interface ZohoTestEnv {
  sandbox: Sandbox
  database: Database
  config: Config
  /** Backoff delays the clients asked to sleep (no real waiting in tests). */
  slept: number[]
  sleep(ms: number): Promise<void>
  close(): Promise<void>
}

export async function startZohoTestEnv(opts: SandboxOptions = {}): Promise<ZohoTestEnv> {
  const sandbox = await startSandbox({ anchorDate: '2026-11-02', ...opts })
  const database = await createTestDatabase()
  const config = loadConfig({
    APP_ENV: 'test',
    LOG_LEVEL: 'silent',
    ZOHO_CLIENT_ID: sandbox.clientId,
    ZOHO_CLIENT_SECRET: sandbox.clientSecret,
    ZOHO_ACCOUNTS_URL: sandbox.accountsUrl,
    ZOHO_API_DOMAIN: sandbox.apiDomain,
    SYNC_MAX_RETRIES: '4',
  })
  const slept: number[] = []
  return {
    sandbox,
    database,
    config,
    slept,
    sleep: async (ms) => {
      slept.push(ms)
    },
    close: async () => {
      await sandbox.close()
      await database.close()
    },
  }
}

/**
 * Stores a connection for the sandbox org, as the admin connect flow would. The org is read with a
 * separate helper token, so the stored refresh token starts with Zoho's full 10-mint allowance.
 */
export async function connect(
  env: ZohoTestEnv,
  refreshToken = env.sandbox.issueRefreshToken(),
): Promise<string> {
  const { sandbox, config, database } = env
  const t = await refreshAccessToken({
    accountsServer: sandbox.accountsUrl,
    clientId: sandbox.clientId,
    clientSecret: sandbox.clientSecret,
    refreshToken: sandbox.issueRefreshToken(),
    fetch,
  })
  const tokens: TokenSource = { get: async () => t.accessToken, invalidate: async () => t.accessToken }
  const org = await createZohoClient({ apiDomain: t.apiDomain ?? sandbox.apiDomain, tokens, fetch }).getOrg()
  await saveConnection(database.db, config.secretKey, {
    orgId: org.id,
    accountsServer: sandbox.accountsUrl,
    apiDomain: t.apiDomain ?? sandbox.apiDomain,
    refreshToken,
    scopes: 'ZohoCRM.modules.deals.READ',
    org,
  })
  return org.id
}

export const tokenCalls = (s: Sandbox) =>
  s.calls.filter((c) => c.service === 'accounts' && c.path === '/oauth/v2/token')
export const crmCalls = (s: Sandbox) => s.calls.filter((c) => c.service === 'crm')
