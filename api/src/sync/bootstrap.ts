import type { Config } from '../config'
import type { Db } from '../db/client'
import type { Logger } from '../observability/logger'
import { loadConnection } from '../zoho/connection'
import { connectWithRefreshToken } from '../zoho/connect'
import { connectedOrgs } from './run'

/**
 * Connects an org from a Zoho Self Client refresh token (ZOHO_REFRESH_TOKEN, or the sandbox admin's
 * in demo mode): one refresh (its access token is kept and counted against Zoho's 10-per-10-minutes
 * budget), GET /org for the org id, then the connection is saved encrypted. Skipped (no refresh
 * spent) when a connection already holds this token.
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
  const { orgId } = await connectWithRefreshToken(db, config, deps.fetch, { refreshToken })
  deps.logger.info('zoho connection bootstrapped', { orgId })
  return { orgId, created: true }
}
