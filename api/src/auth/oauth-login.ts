import { and, eq, sql } from 'drizzle-orm'
import type { Config } from '../config'
import type { Db } from '../db/client'
import { query } from '../db/client'
import { zohoConnections } from '../db/schema'
import { createZohoClient } from '../zoho/client'
import { ZOHO_DCS, dcOf, resolveAccountsServer, trimBase, zohoEndpoints, type ZohoDc } from '../zoho/oauth'
import type { ZohoOrg, ZohoUser } from '../zoho/types'
import { AppError } from '../http/errors'

/** Sign-in only needs to know who the user is and in which org. */
export const LOGIN_SCOPES = ['ZohoCRM.users.READ', 'ZohoCRM.org.READ'] as const

export interface OAuthClientConfig {
  clientId: string
  clientSecret: string
  accountsUrl: string
  apiDomain: string
}

/** The OAuth client: the real one, or the sandbox's when the Node entry wired it into config (demo). */
export function oauthClient(config: Config): OAuthClientConfig {
  if (!config.ZOHO_CLIENT_ID || !config.ZOHO_CLIENT_SECRET)
    throw new AppError(503, 'ZOHO_NOT_CONFIGURED', 'Zoho sign-in is not configured on this server')
  // ZOHO_REGION picks the DC when the URLs are left at their defaults (as the Zoho client does).
  const e = zohoEndpoints(config)
  return {
    clientId: config.ZOHO_CLIENT_ID,
    clientSecret: config.ZOHO_CLIENT_SECRET,
    accountsUrl: e.accountsServer,
    apiDomain: e.apiDomain,
  }
}

/**
 * Where to exchange the code: the redirect's `accounts-server` (a known Zoho DC or the configured
 * ZOHO_ACCOUNTS_URL, nothing else: the client secret is posted there), else the DC named by
 * `location`, else the configured server.
 */
export function callbackAccountsServer(
  client: OAuthClientConfig,
  accountsServer: string | undefined,
  location: string | undefined,
): string {
  if (accountsServer) return resolveAccountsServer(accountsServer, client.accountsUrl)
  const loc = location?.toLowerCase()
  if (loc && loc in ZOHO_DCS) {
    const configuredDc = dcOf(client.accountsUrl)
    // A self-hosted accounts server (sandbox, tests) has no DC: stay on it.
    if (configuredDc) return ZOHO_DCS[loc as ZohoDc].accountsServer
  }
  return client.accountsUrl
}

/**
 * The API domain a token response named, if it is a Zoho API host or the configured one (our access
 * token goes there). Callers then apply connectionApiDomain (an explicit ZOHO_API_DOMAIN wins).
 */
export function acceptedApiDomain(
  client: OAuthClientConfig,
  returned: string | null,
  accountsServer: string,
): string {
  if (!returned) {
    const dc = dcOf(accountsServer)
    return dc ? ZOHO_DCS[dc].apiDomain : client.apiDomain
  }
  const r = trimBase(returned)
  if (r === client.apiDomain || dcOf(r)) return r
  throw new AppError(502, 'ZOHO_BAD_API_DOMAIN', 'Zoho answered with an unexpected api_domain')
}

/** CurrentUser and org, read with the freshly issued access token, and the Zoho calls that took. */
export async function identify(
  fetchImpl: typeof fetch,
  apiDomain: string,
  accessToken: string,
): Promise<{ user: ZohoUser; org: ZohoOrg; calls: number }> {
  const client = createZohoClient({
    apiDomain,
    fetch: fetchImpl,
    maxRetries: 1,
    tokens: {
      get: async () => accessToken,
      invalidate: async () => {
        throw new AppError(401, 'ZOHO_TOKEN_REJECTED', 'Zoho rejected the sign-in token')
      },
    },
  })
  const [user, org] = await Promise.all([client.getCurrentUser(), client.getOrg()])
  return { user, org, calls: client.stats.calls }
}

export async function activeConnection(db: Db, orgId: string): Promise<boolean> {
  const [row] = await db
    .select({ status: zohoConnections.status })
    .from(zohoConnections)
    .where(and(eq(zohoConnections.orgId, orgId), eq(zohoConnections.status, 'active')))
  return Boolean(row)
}

/**
 * First connect of an org: the connecting admin's user row, so they can use the app before the
 * first sync (which then overwrites it with Zoho's full data).
 */
export async function ensureUser(db: Db, orgId: string, user: ZohoUser) {
  await query(
    db,
    sql`insert into users (org_id, id, zuid, full_name, email, status, role_id, profile_id, profile_name, reporting_to_id, time_zone)
        values (${orgId}, ${user.id}, ${user.zuid ?? null}, ${user.full_name}, ${user.email ?? null}, ${user.status || 'active'},
                ${user.role?.id ?? null}, ${user.profile?.id ?? null}, ${user.profile?.name ?? null},
                ${user.Reporting_To?.id ?? null}, ${user.time_zone ?? null})
        on conflict (org_id, id) do nothing`,
  )
}
