import { sql } from 'drizzle-orm'
import { query, type Db } from '../db/client'
import { loadRateBook, type RateBook } from '../fx/pricing'
import type { JobContext } from '../jobs'
import { clientForOrg } from '../zoho/client'
import type { ZohoClient } from '../zoho/types'
import type { RunRow } from './checkpoint'
import type { HeldPages } from './held-pages'
import type { OrgMeta } from './map'
import { syncMetadata } from './metadata'
import type { PageRequest } from './pages'
import { loadStageMap, type StageMap } from './stages'

/*
 * What a sync works with: SyncContext, given by the caller, and SyncSession, what the steps of one
 * invocation share (the Zoho client, the pages in flight, and the org metadata, stage map and rate
 * book: loaded on first use, loaded again after a metadata refresh).
 */

export interface SyncContext extends JobContext {
  /** The Zoho client for an org (default: clientForOrg with the stored connection). */
  clientFor?(orgId: string): Promise<ZohoClient>
}

/** What steps of one invocation share: the client, org metadata, stage map, rate book. */
export class SyncSession {
  client?: ZohoClient
  org?: OrgMeta
  apiDomain?: string
  stages?: StageMap
  book?: RateBook
  /** client.stats.calls already counted into the run. */
  countedCalls = 0
  /** client.stats.calls as recorded by the commit in progress. */
  committingCalls?: number
  /**
   * Set by a driver that will run another step in this session (runSteps): the deals step then
   * fetches the next page while it writes the current one. Off for one-step sessions (a Workflow
   * step), where the fetched page would be thrown away.
   */
  prefetch = false
  /** Mondays whose historical sets this session stored (repriceClosedDealsOfOrg at the end). */
  storedWeeks = new Set<string>()
  /** The run as the last Deals page committed it: the next page needs no read of sync_runs. */
  run?: RunRow
  /**
   * The last Deals page written held no stored deal (true before the first): the next full-sync
   * page is tried as a plain insert (write.ts insertStatement).
   */
  expectNew = true
  /**
   * The last Deals page's commit, still in flight while the next page is fetched and mapped (only
   * when `prefetch` is on). Every step settles it before writing anything itself.
   */
  pending?: Promise<void>
  /** Whether `pending` has settled (pages are held back only while it runs). */
  pendingSettled = true
  /**
   * Deals pages read and mapped while the previous page's commit was still running, not written
   * yet: the next commit writes them with its own page, so when the database is the slower side it
   * gets fewer, bigger statements. In memory only and bounded (MAX_HELD_ROWS); the stored checkpoint
   * stays behind them, so a crash or a retried step reads them again. Valid only with `run`.
   */
  held?: HeldPages
  /** The next Deals page, requested before the step that reads it; used only if the checkpoint asks for it. */
  nextPage?: PageRequest
  /** The Deals page the current step reads: once its info is in, the next page is requested. */
  reading?: PageRequest
}

export async function clientOf(ctx: SyncContext, s: SyncSession, orgId: string): Promise<ZohoClient> {
  if (!s.client) {
    s.client = ctx.clientFor
      ? await ctx.clientFor(orgId)
      : await clientForOrg(ctx.db, ctx.config, orgId, ctx.fetch, { logger: ctx.logger, http: ctx.zohoHttp })
    s.countedCalls = s.client.stats.calls
  }
  return s.client
}

async function loadOrg(db: Db, orgId: string): Promise<(OrgMeta & { apiDomain: string | null }) | undefined> {
  const [o] = await query<{
    id: string
    home_currency: string
    base_currency: string
    multi_currency: boolean
    time_zone: string
    api_domain: string | null
  }>(
    db,
    sql`select o.id, o.home_currency, o.base_currency, o.multi_currency, o.time_zone, c.api_domain
        from orgs o left join zoho_connections c on c.org_id = o.id where o.id = ${orgId}`,
  )
  return (
    o && {
      id: o.id,
      homeCurrency: o.home_currency,
      baseCurrency: o.base_currency,
      multiCurrency: o.multi_currency,
      timeZone: o.time_zone,
      apiDomain: o.api_domain,
    }
  )
}

export async function refreshMetadata(ctx: SyncContext, s: SyncSession, orgId: string) {
  const client = await clientOf(ctx, s, orgId)
  const apiDomain = (await loadOrg(ctx.db, orgId))?.apiDomain ?? ctx.config.ZOHO_API_DOMAIN
  await syncMetadata(ctx.db, client, orgId, {
    apiDomain,
    baseCurrency: ctx.config.BASE_CURRENCY,
    logger: ctx.logger,
  })
  s.org = undefined
  s.stages = undefined
  // The org's base currency may have changed with it: its book is loaded in that base.
  s.book = undefined
}

export async function prepare(ctx: SyncContext, s: SyncSession, orgId: string) {
  if (!s.org) {
    const o = await loadOrg(ctx.db, orgId)
    if (!o) throw new Error(`Org ${orgId} has no metadata yet`)
    s.org = o
  }
  s.stages ??= await loadStageMap(ctx.db, orgId)
  s.book ??= await loadRateBook(ctx.db, s.org.baseCurrency)
  return { org: s.org, stages: s.stages, book: s.book }
}
