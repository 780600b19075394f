import type { Config } from '../config'
import type { Db } from '../db/client'
import type { Logger } from '../observability/logger'
import { createZohoClient } from '../zoho/client'
import { loadConnection, saveConnection } from '../zoho/connection'
import { refreshAccessToken, trimBase } from '../zoho/oauth'
import { connectedOrgs } from './engine'

/**
 * Connects an org from a Zoho Self Client refresh token (ZOHO_REFRESH_TOKEN, or the sandbox admin's
 * in demo mode): one refresh to learn api_domain, GET /org for the org id, then the connection is
 * saved encrypted. Skipped (no refresh spent) when a connection already holds this token.
 */
export async function bootstrapConnection(
  deps: { db: Db; config: Config; fetch: typeof fetch; logger: Logger },
  refreshToken: string,
): Promise<{ orgId: string; created: boolean }> {
  const { db, config } = deps
  for (const orgId of await connectedOrgs(db)) {
    const conn = await loadConnection(db, config.secretKey, orgId).catch(() => null)
    if (conn?.refreshToken === refreshToken) return { orgId, created: false }
  }
  if (!config.ZOHO_CLIENT_ID || !config.ZOHO_CLIENT_SECRET)
    throw new Error('ZOHO_REFRESH_TOKEN needs ZOHO_CLIENT_ID and ZOHO_CLIENT_SECRET')
  const accountsServer = trimBase(config.ZOHO_ACCOUNTS_URL)
  const token = await refreshAccessToken({
    accountsServer,
    clientId: config.ZOHO_CLIENT_ID,
    clientSecret: config.ZOHO_CLIENT_SECRET,
    refreshToken,
    fetch: deps.fetch,
  })
  const apiDomain = trimBase(token.apiDomain ?? config.ZOHO_API_DOMAIN)
  // A one-off client on the fresh access token, just for GET /org.
  const client = createZohoClient({
    apiDomain,
    fetch: deps.fetch,
    tokens: { get: async () => token.accessToken, invalidate: async () => token.accessToken },
    logger: deps.logger,
  })
  const org = await client.getOrg()
  await saveConnection(db, config.secretKey, {
    orgId: org.id,
    accountsServer,
    apiDomain,
    refreshToken,
    scopes: token.scope,
    org,
  })
  deps.logger.info('zoho connection bootstrapped', { orgId: org.id, apiDomain })
  return { orgId: org.id, created: true }
}
