import { eq, sql } from 'drizzle-orm'
import { decryptSecret, encryptSecret } from '../auth/crypto'
import { query, type Db } from '../db/client'
import { orgs, zohoConnections } from '../db/schema'
import type { Logger } from '../observability/logger'
import { ZohoBudgetError, ZohoConnectionError, ZohoNetworkError, ZohoOAuthError } from './errors'
import { crmHostFor, refreshAccessToken, revokeToken, trimBase } from './oauth'
import type { ZohoOrg } from './types'

/**
 * The stored Zoho connection of an org (refresh token encrypted at rest) and the access-token
 * provider built on it. One access token per connection lives (encrypted) in the row, so every
 * process and isolate shares it; it is refreshed ~5 minutes ahead of expiry by a single caller
 * (in-process single-flight + a lease claimed on the row), and never more than 10 times in 10
 * minutes (Zoho's per-refresh-token limit; the refresh_log column).
 */

export const REFRESH_AHEAD_MS = 5 * 60_000
export const REFRESH_WINDOW_MS = 10 * 60_000
export const MAX_REFRESHES_PER_WINDOW = 10
/** How long one refresher holds the row's lease before another caller may try. */
const LEASE_MS = 30_000
const POLL_MS = 100

export type ConnectionStatus = 'active' | 'broken' | 'revoked'

export interface ZohoConnection {
  orgId: string
  accountsServer: string
  apiDomain: string
  /** Decrypted. Never log it. */
  refreshToken: string
  scopes: string | null
  status: ConnectionStatus
  lastError: string | null
  connectedByUserId: string | null
  accessTokenExpiresAt: Date | null
  /** Refresh times (ISO) within the last 10 minutes. */
  refreshLog: string[]
  createdAt: Date
  updatedAt: Date
}

export interface SaveConnectionInput {
  orgId: string
  accountsServer: string
  apiDomain: string
  refreshToken: string
  scopes?: string | null
  connectedByUserId?: string | null
  /** From GET /org: creates or updates the orgs row the connection belongs to (needed once). */
  org?: ZohoOrg
  /** The access token the connect step already minted: cached so it is not wasted. */
  accessToken?: {
    token: string
    expiresAt: Date
    /** minted by a refresh-token grant (counts in the budget) */ byRefresh?: boolean
  }
  now?: () => number
}

/** A refresh token a new connection replaced: still live at Zoho until someone revokes it. */
export interface ReplacedRefreshToken {
  /** Decrypted. Never log it. */
  refreshToken: string
  /** Where it was issued (and so where it is revoked). */
  accountsServer: string
}

/**
 * Stores (or replaces) the org's connection, status active, with the access token just minted (if
 * given) and a refresh budget that starts afresh for a new refresh token. The orgs row must exist,
 * or pass `org`. Returns the previous connection's refresh token when this one replaced a
 * different one, so the caller can revoke it (revokeReplacedToken).
 */
export async function saveConnection(
  db: Db,
  secretKey: string,
  input: SaveConnectionInput,
): Promise<{ replaced: ReplacedRefreshToken | null }> {
  if (input.org) {
    if (input.org.id !== input.orgId) throw new Error('saveConnection: org.id differs from orgId')
    const o = input.org
    const values = {
      id: o.id,
      name: o.company_name,
      timeZone: o.time_zone,
      homeCurrency: o.iso_code,
      multiCurrency: o.mc_status,
      domainName: o.domain_name ?? null,
      ...(crmHostFor(input.apiDomain) ? { crmHost: crmHostFor(input.apiDomain)! } : {}),
    }
    const { id: _id, ...update } = values
    await db
      .insert(orgs)
      .values(values)
      .onConflictDoUpdate({ target: orgs.id, set: { ...update, updatedAt: new Date() } })
  }
  const refreshTokenEnc = await encryptSecret(secretKey, input.refreshToken)
  // Zoho's 10-per-10-minutes limit is per refresh token: re-saving the same one keeps its log.
  const t = input.now?.() ?? Date.now()
  const prior = await loadConnection(db, secretKey, input.orgId).catch(() => null)
  const log =
    prior && prior.refreshToken === input.refreshToken
      ? prior.refreshLog.filter((at) => Date.parse(at) > t - REFRESH_WINDOW_MS)
      : []
  if (input.accessToken?.byRefresh) log.push(new Date(t).toISOString())
  const row = {
    accountsServer: trimBase(input.accountsServer),
    apiDomain: trimBase(input.apiDomain),
    refreshTokenEnc,
    accessTokenEnc: input.accessToken ? await encryptSecret(secretKey, input.accessToken.token) : null,
    accessTokenExpiresAt: input.accessToken?.expiresAt ?? null,
    refreshLeaseUntil: null,
    refreshLog: log,
    scopes: input.scopes ?? null,
    status: 'active' as const,
    lastError: null,
    connectedByUserId: input.connectedByUserId ?? null,
    updatedAt: new Date(),
  }
  await db
    .insert(zohoConnections)
    .values({ orgId: input.orgId, ...row })
    .onConflictDoUpdate({ target: zohoConnections.orgId, set: row })
  forgetCachedTokens(db, input.orgId)
  return {
    replaced:
      prior && prior.refreshToken !== input.refreshToken
        ? { refreshToken: prior.refreshToken, accountsServer: prior.accountsServer }
        : null,
  }
}

/**
 * Best-effort revoke of a refresh token that a reconnect replaced. Zoho keeps at most 20 refresh
 * tokens per user and silently deletes the oldest when a 21st is issued, so every reconnect that
 * leaves its predecessor alive brings another environment's (or tenant's) connection closer to
 * being killed. Never throws: the new connection is already saved and must not fail on this.
 * Returns whether Zoho confirmed (an already invalid token counts as revoked).
 */
export async function revokeReplacedToken(
  replaced: ReplacedRefreshToken,
  opts: { orgId: string; fetch: typeof fetch; logger?: Logger; timeoutMs?: number },
): Promise<boolean> {
  const timeoutMs = opts.timeoutMs ?? 10_000
  // A hanging accounts server must not hold the admin's connect redirect.
  const bounded: typeof fetch = (input, init) =>
    opts.fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) })
  try {
    await revokeToken({
      accountsServer: replaced.accountsServer,
      token: replaced.refreshToken,
      fetch: bounded,
    })
    opts.logger?.info('zoho replaced refresh token revoked', { orgId: opts.orgId })
    return true
  } catch (err) {
    // Only the error's kind and code: a network error's text could carry the revoke URL (token).
    opts.logger?.warn('zoho replaced refresh token not revoked', {
      orgId: opts.orgId,
      error: err instanceof ZohoOAuthError ? err.code : err instanceof Error ? err.name : 'unknown',
    })
    return false
  }
}

export async function loadConnection(
  db: Db,
  secretKey: string,
  orgId: string,
): Promise<ZohoConnection | null> {
  const [r] = await db.select().from(zohoConnections).where(eq(zohoConnections.orgId, orgId))
  if (!r) return null
  return {
    orgId: r.orgId,
    accountsServer: r.accountsServer,
    apiDomain: r.apiDomain,
    refreshToken: await decryptSecret(secretKey, r.refreshTokenEnc),
    scopes: r.scopes,
    status: r.status,
    lastError: r.lastError,
    connectedByUserId: r.connectedByUserId,
    accessTokenExpiresAt: r.accessTokenExpiresAt,
    refreshLog: r.refreshLog,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  }
}

/** Marks the connection unusable until an admin reconnects; `message` says why, for the admin. */
export async function markConnectionBroken(db: Db, orgId: string, message: string): Promise<void> {
  await db
    .update(zohoConnections)
    .set({
      status: 'broken',
      lastError: message,
      accessTokenEnc: null,
      accessTokenExpiresAt: null,
      refreshLeaseUntil: null,
      updatedAt: new Date(),
    })
    .where(eq(zohoConnections.orgId, orgId))
  forgetCachedTokens(db, orgId)
}

/**
 * Disconnect: revoke the refresh token at Zoho (which kills its access tokens too) and mark the
 * connection revoked. The row is marked revoked even when Zoho cannot be reached, so we stop using
 * it; `revokedAtZoho` tells the caller whether Zoho confirmed.
 */
export async function revokeConnection(
  db: Db,
  secretKey: string,
  orgId: string,
  opts: { fetch: typeof fetch; logger?: Logger },
): Promise<{ revokedAtZoho: boolean }> {
  const conn = await loadConnection(db, secretKey, orgId)
  if (!conn) throw new ZohoConnectionError(orgId, 'missing', `Zoho is not connected for org ${orgId}`)
  let revokedAtZoho = false
  try {
    await revokeToken({ accountsServer: conn.accountsServer, token: conn.refreshToken, fetch: opts.fetch })
    revokedAtZoho = true
  } catch (err) {
    opts.logger?.warn('zoho token revoke failed', { orgId, err })
  }
  await db
    .update(zohoConnections)
    .set({
      status: 'revoked',
      lastError: revokedAtZoho ? null : 'Disconnected here, but Zoho did not confirm the revoke',
      accessTokenEnc: null,
      accessTokenExpiresAt: null,
      refreshLeaseUntil: null,
      updatedAt: new Date(),
    })
    .where(eq(zohoConnections.orgId, orgId))
  forgetCachedTokens(db, orgId)
  return { revokedAtZoho }
}

// ------------------------------------------------------------------------------- token provider

interface CachedToken {
  token: string
  expiresAt: number
}

/**
 * In-process state shared by every provider of one process: the cached token per org and the one
 * refresh in flight per org. Tests create a second registry to act as a second process.
 */
export class TokenRegistry {
  readonly cache = new Map<string, CachedToken>()
  readonly inflight = new Map<string, Promise<string>>()
}

const registries = new WeakMap<Db, TokenRegistry>()
const registryFor = (db: Db) => {
  let r = registries.get(db)
  if (!r) registries.set(db, (r = new TokenRegistry()))
  return r
}
function forgetCachedTokens(db: Db, orgId: string) {
  registries.get(db)?.cache.delete(orgId)
}

export interface TokenProviderOptions {
  orgId: string
  secretKey: string
  clientId: string
  clientSecret: string
  fetch: typeof fetch
  now?: () => number
  sleep?: (ms: number) => Promise<void>
  logger?: Logger
  /** When the 10-per-10-minutes budget is spent: wait up to this long, else throw. Default 60 s. */
  maxBudgetWaitMs?: number
  /** Defaults to one registry per database handle (i.e. per process). */
  registry?: TokenRegistry
}

export interface TokenProvider {
  get(): Promise<string>
  invalidate(rejected: string): Promise<string>
  markBroken(reason: string): Promise<void>
}

interface Row {
  status: ConnectionStatus
  last_error: string | null
  accounts_server: string
  refresh_token_enc: string
  access_token_enc: string | null
  /** Epoch ms (float8 reads as a number on both drivers, unlike timestamptz text). */
  expires_ms: number | null
  lease_ms: number | null
  refresh_log: string[] | string
}

export function createTokenProvider(db: Db, opts: TokenProviderOptions): TokenProvider {
  const { orgId } = opts
  const reg = opts.registry ?? registryFor(db)
  const now = opts.now ?? Date.now
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  const maxBudgetWaitMs = opts.maxBudgetWaitMs ?? 60_000
  const fresh = (expiresAt: number) => expiresAt - now() > REFRESH_AHEAD_MS

  async function readRow(): Promise<Row> {
    const [row] = await query<Row>(
      db,
      sql`select status, last_error, accounts_server, refresh_token_enc, access_token_enc,
            (extract(epoch from access_token_expires_at) * 1000)::float8 as expires_ms,
            (extract(epoch from refresh_lease_until) * 1000)::float8 as lease_ms, refresh_log
          from zoho_connections where org_id = ${orgId}`,
    )
    if (!row) throw new ZohoConnectionError(orgId, 'missing', `Zoho is not connected for org ${orgId}`)
    if (row.status !== 'active')
      throw new ZohoConnectionError(
        orgId,
        row.status,
        row.last_error ?? `The Zoho connection is ${row.status}`,
      )
    return row
  }

  async function markBroken(reason: string) {
    opts.logger?.error('zoho connection broken', { orgId, reason })
    await markConnectionBroken(db, orgId, reason)
    reg.cache.delete(orgId)
  }

  /** The row's token unless it is `rejected` or due for refresh; otherwise refresh it (one caller). */
  async function obtain(rejected: string | null): Promise<string> {
    let waitedForLease = 0
    for (;;) {
      const row = await readRow()
      const expiresAt = row.expires_ms === null ? 0 : Number(row.expires_ms)
      const current = row.access_token_enc ? await decryptSecret(opts.secretKey, row.access_token_enc) : null
      if (current && current !== rejected && fresh(expiresAt)) {
        reg.cache.set(orgId, { token: current, expiresAt })
        return current
      }
      const usable = current && current !== rejected && expiresAt > now() ? current : null
      const t = now()
      if (row.lease_ms !== null && Number(row.lease_ms) > t) {
        // Another process is refreshing: use the old token while it lasts, else wait for theirs.
        if (usable) return usable
        if (waitedForLease > LEASE_MS + 5000)
          throw new Error(`Timed out waiting for another process to refresh the Zoho token of org ${orgId}`)
        await sleep(POLL_MS)
        waitedForLease += POLL_MS
        continue
      }
      const rawLog: string[] =
        typeof row.refresh_log === 'string' ? JSON.parse(row.refresh_log) : row.refresh_log
      const log = rawLog.filter((at) => Date.parse(at) > t - REFRESH_WINDOW_MS)
      if (log.length >= MAX_REFRESHES_PER_WINDOW) {
        if (usable) return usable
        const wait = Math.min(...log.map((at) => Date.parse(at))) + REFRESH_WINDOW_MS - t
        if (wait > maxBudgetWaitMs)
          throw new ZohoBudgetError(
            'token_refresh',
            `Zoho access token refreshed ${log.length} times in 10 minutes for org ${orgId} (Zoho allows ${MAX_REFRESHES_PER_WINDOW}); next refresh allowed in ${Math.ceil(wait / 1000)} s`,
            wait,
          )
        opts.logger?.warn('zoho token refresh budget spent, waiting', { orgId, waitMs: wait })
        await sleep(wait)
        continue
      }
      // Without client credentials Zoho would answer invalid_client and the connection would be
      // marked broken for a configuration mistake: refuse here instead.
      if (!opts.clientId || !opts.clientSecret)
        throw new Error('Cannot refresh the Zoho token: ZOHO_CLIENT_ID / ZOHO_CLIENT_SECRET are not set')
      // Claim the refresh: the lease and the log entry in one conditional update.
      const claimed = await query(
        db,
        sql`update zoho_connections
            set refresh_lease_until = ${new Date(t + LEASE_MS).toISOString()}::timestamptz,
                refresh_log = ${JSON.stringify([...log, new Date(t).toISOString()])}::jsonb
            where org_id = ${orgId} and status = 'active'
              and (refresh_lease_until is null or refresh_lease_until <= ${new Date(t).toISOString()}::timestamptz)
              and refresh_log = ${JSON.stringify(rawLog)}::jsonb
            returning org_id`,
      )
      if (!claimed.length) continue
      return refreshClaimed(row)
    }
  }

  async function refreshClaimed(row: Row): Promise<string> {
    let tokens
    try {
      const refreshToken = await decryptSecret(opts.secretKey, row.refresh_token_enc)
      try {
        tokens = await refreshAccessToken({
          accountsServer: row.accounts_server,
          clientId: opts.clientId,
          clientSecret: opts.clientSecret,
          refreshToken,
          fetch: opts.fetch,
          now: () => new Date(now()),
        })
      } catch (err) {
        // An outage in front of the token endpoint (a 5xx, a gateway's HTML page) or a connection
        // dropped before the body was in: transient, as on the CRM's own calls (the run retries).
        const outage =
          !(err instanceof ZohoOAuthError) || err.status >= 500 || err.code === 'invalid_response'
        throw outage
          ? new ZohoNetworkError(
              `Zoho token refresh for org ${orgId} failed: ${err instanceof Error ? err.message : String(err)}`,
              err,
            )
          : err
      }
    } catch (err) {
      if (err instanceof ZohoOAuthError && err.needsReconnect) {
        const reason = `Zoho refused the stored refresh token (${err.code}): an admin must reconnect Zoho`
        await markBroken(reason)
        throw new ZohoConnectionError(orgId, 'broken', reason)
      }
      await query(db, sql`update zoho_connections set refresh_lease_until = null where org_id = ${orgId}`)
      if (err instanceof ZohoOAuthError && /access denied|too many/i.test(`${err.code} ${err.message}`))
        throw new ZohoBudgetError(
          'token_refresh',
          `Zoho refused to mint another access token for org ${orgId} (too many refreshes); try again in a few minutes`,
          REFRESH_WINDOW_MS,
        )
      throw err
    }
    const enc = await encryptSecret(opts.secretKey, tokens.accessToken)
    await query(
      db,
      sql`update zoho_connections
          set access_token_enc = ${enc}, access_token_expires_at = ${tokens.expiresAt.toISOString()}::timestamptz,
              refresh_lease_until = null, updated_at = now()
          where org_id = ${orgId}`,
    )
    reg.cache.set(orgId, { token: tokens.accessToken, expiresAt: tokens.expiresAt.getTime() })
    opts.logger?.info('zoho access token refreshed', { orgId, expiresAt: tokens.expiresAt.toISOString() })
    return tokens.accessToken
  }

  /** One obtain() in flight per org in this process; a caller whose token was rejected re-runs. */
  async function flight(rejected: string | null): Promise<string> {
    for (;;) {
      const running = reg.inflight.get(orgId)
      if (!running) break
      const t = await running
      if (t !== rejected) return t
    }
    const p: Promise<string> = obtain(rejected).finally(() => {
      if (reg.inflight.get(orgId) === p) reg.inflight.delete(orgId)
    })
    reg.inflight.set(orgId, p)
    return p
  }

  return {
    async get() {
      const c = reg.cache.get(orgId)
      if (c && fresh(c.expiresAt)) return c.token
      return flight(null)
    },
    async invalidate(rejected) {
      const c = reg.cache.get(orgId)
      if (c && c.token !== rejected && fresh(c.expiresAt)) return c.token
      if (c?.token === rejected) reg.cache.delete(orgId)
      return flight(rejected)
    },
    markBroken,
  }
}
