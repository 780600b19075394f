import { sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client'
import { query } from '../db/client'
import type { OrgSettings } from '../db/schema'
import { ownerCondition, resolveScope, type Scope, type Viewer } from '../auth/scope'
import { forbidden, notFound } from '../http/errors'
import type { Filters } from '#shared/contracts/common'
import { fiscalQuarter, localDate, periodInverted, periodWithin, type Period } from './period'

export interface OrgInfo {
  id: string
  timeZone: string
  fiscalYearStartMonth: number
  baseCurrency: string
  crmHost: string
  domainName: string | null
  settings: OrgSettings
  /** The org's deal_month_rollup has been built (refreshAnalyticsRollups ran at least once). */
  rollupReady: boolean
}

/** What every metric is computed within: the org, the viewer's scope and the org's "today". */
export interface AnalyticsContext {
  db: Db
  org: OrgInfo
  scope: Scope
  viewer: Viewer
  now: Date
  /** Today in the org's time zone. */
  today: string
}

export async function loadOrg(db: Db, orgId: string): Promise<OrgInfo> {
  const [row] = await query<OrgInfo>(
    db,
    sql`select id, time_zone as "timeZone", fiscal_year_start_month::int as "fiscalYearStartMonth",
               base_currency as "baseCurrency", crm_host as "crmHost", domain_name as "domainName", settings,
               exists (select 1 from analytics_rollup_state r where r.org_id = orgs.id) as "rollupReady"
        from orgs where id = ${orgId}`,
  )
  if (!row) throw notFound('Organisation not found')
  return row
}

export async function analyticsContext(db: Db, viewer: Viewer, now: Date): Promise<AnalyticsContext> {
  const [org, scope] = await Promise.all([loadOrg(db, viewer.orgId), resolveScope(db, viewer)])
  return { db, org, scope, viewer, now, today: localDate(now, org.timeZone) }
}

/**
 * P from from/to, each defaulting to the current fiscal quarter's bound in the org's time zone, or
 * to the bound of the fiscal quarter around a lone from/to beyond it (periodWithin). Both sent and
 * inverted: a 400 naming them (`names`: the parameters as the route calls them).
 */
export function resolvePeriod(
  ctx: AnalyticsContext,
  p: { from?: string; to?: string },
  names: [string, string] = ['from', 'to'],
): Period {
  const fyStart = ctx.org.fiscalYearStartMonth
  const period = periodWithin(p, fiscalQuarter(ctx.today, fyStart), (d) => fiscalQuarter(d, fyStart))
  if (period.from > period.to) throw periodInverted(period, names)
  return period
}

/**
 * The WHERE conditions for scope + common filters over a table aliased `alias` with the deal
 * columns org_id, owner_id, closing_date, pipeline, stage, currency, territory (deals and
 * deal_snapshots both have them). An owner filter outside the viewer's scope is a 403; a team is
 * intersected with the scope.
 */
export async function filterConditions(
  ctx: AnalyticsContext,
  f: Filters,
  alias: string,
  closingColumn = 'closing_date',
): Promise<SQL> {
  const col = (name: string) => sql.raw(`${alias}.${name}`)
  const conds = await ownerConditions(ctx, f, alias)
  const inList = (column: string, values: string[]) => sql`${col(column)} in ${values}`
  if (f.closeFrom) conds.push(sql`${col(closingColumn)} >= ${f.closeFrom}`)
  if (f.closeTo) conds.push(sql`${col(closingColumn)} <= ${f.closeTo}`)
  if (f.pipeline) conds.push(sql`${col('pipeline')} = ${f.pipeline}`)
  if (f.stage) conds.push(inList('stage', f.stage))
  if (f.currency) conds.push(inList('currency', f.currency))
  if (f.territory) conds.push(sql`${col('territory')} = ${f.territory}`)
  return sql.join(conds, sql` and `)
}

/** Org, scope, owner and team conditions only (for rollups keyed by owner). */
export async function ownerConditions(ctx: AnalyticsContext, f: Filters, alias: string): Promise<SQL[]> {
  const col = (name: string) => sql.raw(`${alias}.${name}`)
  const conds: SQL[] = [sql`${col('org_id')} = ${ctx.org.id}`]
  const scoped = ownerCondition(ctx.scope, col('owner_id'))
  if (scoped) conds.push(scoped)
  if (f.owner) {
    const allowed = ctx.scope.ownerIds
    const outside = allowed ? f.owner.filter((o) => !allowed.includes(o)) : []
    if (outside.length) throw forbidden('Owner filter includes users outside your visibility scope')
    conds.push(sql`${col('owner_id')} in ${f.owner}`)
  }
  if (f.team) {
    const members = await requestTeamMembers(ctx, f.team)
    conds.push(members.length ? sql`${col('owner_id')} in ${members}` : sql`false`)
  }
  return conds
}

/** Each request's team member lists: a view that filters two tables (time in stage) reads one once. */
const membersByRequest = new WeakMap<AnalyticsContext, Map<string, Promise<string[]>>>()

function requestTeamMembers(ctx: AnalyticsContext, roleId: string): Promise<string[]> {
  let teams = membersByRequest.get(ctx)
  if (!teams) membersByRequest.set(ctx, (teams = new Map()))
  let members = teams.get(roleId)
  if (!members) teams.set(roleId, (members = teamMembers(ctx.db, ctx.org.id, roleId)))
  return members
}

/** Users in the role and every role below it. */
async function teamMembers(db: Db, orgId: string, roleId: string): Promise<string[]> {
  const rows = await query<{ id: string }>(
    db,
    sql`with recursive sub(id) as (
          select id from roles where org_id = ${orgId} and id = ${roleId}
          union
          select r.id from roles r join sub on r.reports_to_id = sub.id where r.org_id = ${orgId}
        )
        select u.id from users u where u.org_id = ${orgId} and u.role_id in (select id from sub)`,
  )
  return rows.map((r) => r.id)
}

/** Last successful sync time (ISO) for the org, or null before the first sync. */
export async function lastSyncAt(db: Db, orgId: string): Promise<string | null> {
  const [row] = await query<{ at: string | null }>(
    db,
    sql`select to_char(last_success_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as at
        from sync_state where org_id = ${orgId}`,
  )
  return row?.at ?? null
}

/** A deal's Zoho CRM record link. domain_name is what Zoho's GET /org returns (e.g. "org12345" or a custom name). */
export function zohoDealUrl(org: Pick<OrgInfo, 'crmHost' | 'domainName' | 'id'>, dealId: string): string {
  const host = org.crmHost.replace(/\/+$/, '')
  return `${host}/crm/${org.domainName ?? `org${org.id}`}/tab/Potentials/${dealId}`
}

/** The analytics context of a request behind requireViewer. */
export function requestContext(c: {
  var: { db: Db; viewer: Viewer; deps: { now(): Date } }
}): Promise<AnalyticsContext> {
  return analyticsContext(c.var.db, c.var.viewer, c.var.deps.now())
}
