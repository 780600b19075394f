import type { Config } from '../config'
import type { Db } from '../db/client'
import { recordZohoCalls } from './call-minutes'
import { createZohoClient } from './client'
import { loadConnection, saveConnection } from './connection'
import { connectionApiDomain, refreshAccessToken, trimBase, zohoEndpoints, type ZohoTokenSet } from './oauth'
import type { ZohoOrg } from './types'

/**
 * Finishing a connection: after the OAuth callback's code exchange, or from a Zoho Self Client
 * refresh token (ZOHO_REFRESH_TOKEN). Reads the org with the fresh access token and stores the
 * connection (and the orgs row) so clientForOrg works.
 */

export interface CompleteConnectionInput {
  /** The accounts server the code was exchanged at (the redirect's accounts-server). */
  accountsServer: string
  tokens: ZohoTokenSet
  /** Defaults to tokens.refreshToken (a code exchange with access_type=offline returns one). */
  refreshToken?: string
  connectedByUserId?: string | null
  fetch: typeof fetch
  /** True when `tokens` came from a refresh-token grant (it counts in the 10-per-10-minutes budget). */
  byRefresh?: boolean
}

export async function completeConnection(
  db: Db,
  config: Config,
  input: CompleteConnectionInput,
): Promise<{ orgId: string; org: ZohoOrg; apiDomain: string }> {
  const refreshToken = input.refreshToken ?? input.tokens.refreshToken
  if (!refreshToken)
    throw new Error(
      'Zoho returned no refresh token: the authorize URL needs access_type=offline and prompt=consent',
    )
  const apiDomain = connectionApiDomain(config, input.tokens.apiDomain)
  const token = input.tokens.accessToken
  const client = createZohoClient({
    apiDomain,
    tokens: { get: async () => token, invalidate: async () => token },
    fetch: input.fetch,
    maxRetries: config.SYNC_MAX_RETRIES,
  })
  const org = await client.getOrg()
  await saveConnection(db, config.secretKey, {
    orgId: org.id,
    accountsServer: trimBase(input.accountsServer),
    apiDomain,
    refreshToken,
    scopes: input.tokens.scope,
    connectedByUserId: input.connectedByUserId ?? null,
    org,
    accessToken: { token, expiresAt: input.tokens.expiresAt, byRefresh: input.byRefresh },
  })
  await recordZohoCalls(db, org.id, client.stats.calls)
  return { orgId: org.id, org, apiDomain }
}

/**
 * Connects the org behind a Self Client refresh token (ZOHO_REFRESH_TOKEN by default), at
 * ZOHO_ACCOUNTS_URL / the region's accounts server. Idempotent: when `knownOrgId` already holds an
 * active connection with this refresh token, nothing is called.
 */
export async function connectWithRefreshToken(
  db: Db,
  config: Config,
  fetchImpl: typeof fetch,
  opts: { refreshToken?: string; clientId?: string; clientSecret?: string; knownOrgId?: string } = {},
): Promise<{ orgId: string }> {
  const refreshToken = opts.refreshToken ?? config.ZOHO_REFRESH_TOKEN
  if (!refreshToken) throw new Error('connectWithRefreshToken: no refresh token (set ZOHO_REFRESH_TOKEN)')
  if (opts.knownOrgId) {
    const existing = await loadConnection(db, config.secretKey, opts.knownOrgId)
    if (existing?.status === 'active' && existing.refreshToken === refreshToken)
      return { orgId: existing.orgId }
  }
  const { accountsServer } = zohoEndpoints(config)
  const tokens = await refreshAccessToken({
    accountsServer,
    clientId: opts.clientId ?? config.ZOHO_CLIENT_ID ?? '',
    clientSecret: opts.clientSecret ?? config.ZOHO_CLIENT_SECRET ?? '',
    refreshToken,
    fetch: fetchImpl,
  })
  const { orgId } = await completeConnection(db, config, {
    accountsServer,
    tokens,
    refreshToken,
    fetch: fetchImpl,
    byRefresh: true,
  })
  return { orgId }
}
