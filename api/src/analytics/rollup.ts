import { sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client'
import type { Logger } from '../observability/logger'
import { query } from '../db/client'
import type { Filters } from '#shared/contracts/common'
import { filterConditions, type AnalyticsContext } from './context'
import { addDays, type Period } from './period'

const ROLLUP_COLUMNS = (
  'org_id state close_month owner_id owner_name stage pipeline currency territory forecast_category ' +
  'deal_count unpriced_count amount_sgd weighted100 cycle_days'
).split(' ')
const TOTALS_COLUMNS =
  'org_id state close_month stage deal_count unpriced_count amount_sgd weighted100 cycle_days'.split(' ')

/**
 * Closing months, as the month rollup groups deals: first days ('YYYY-MM-01'), null for the deals
 * without a closing date.
 */
export type RollupMonths = (string | null)[]

const MONTH = /^\d{4}-\d{2}-01$/

/** The first day of the month after a 'YYYY-MM-01'. */
function nextMonth(m: string): string {
  const y = Number(m.slice(0, 4))
  const mo = Number(m.slice(5, 7))
  return mo === 12
    ? `${String(y + 1).padStart(4, '0')}-01-01`
    : `${m.slice(0, 5)}${String(mo + 1).padStart(2, '0')}-01`
}

/**
 * Conditions limiting a refresh to some closing months: `deals` (alias d) and `rows` (a rollup
 * table). The deals are found by ranges of deals_org_close_sort_idx (org_id, coalesce(closing_date,
 * '9999-12-31')), then kept by the month they group under, so the ranges need only cover them.
 */
function monthScope(months: RollupMonths): { deals: SQL; rows: SQL } {
  const dates = [...new Set(months.filter((m): m is string => m !== null))]
  for (const m of dates) if (!MONTH.test(m)) throw new Error(`Not a closing month: ${m}`)
  const withNull = months.includes(null)
  const key = sql`coalesce(d.closing_date, '9999-12-31'::date)`
  const ranges = dates.map((m) => sql`(${key} >= ${m}::date and ${key} < ${nextMonth(m)}::date)`)
  if (withNull) ranges.push(sql`${key} = '9999-12-31'::date`)
  const list = sql`${`{${dates.join(',')}}`}::text::date[]`
  const exact = (col: SQL) => sql`(${col} = any(${list})${withNull ? sql` or ${col} is null` : sql``})`
  return {
    deals: sql`(${sql.join(ranges, sql` or `)}) and ${exact(sql`date_trunc('month', d.closing_date)::date`)}`,
    rows: exact(sql`close_month`),
  }
}

/**
 * Bring the org's deal_month_rollup in line with the deals table, then deal_month_totals in line
 * with the rollup, set-based in one transaction (readers see the old figures or the new ones, never
 * half). Only groups whose figures changed are rewritten: a full delete-and-insert after every sync
 * and snapshot left the tables mostly dead tuples, and the summary's scans slowed with them. Called
 * after FX repricing, by the daily snapshot, and at the end of a sync run that may have moved deals
 * (refreshRollupsAfterSync): every writer of deals ends in one of them or marks the org behind.
 *
 * With `months`, only the groups of those closing months are recomputed and compared (a sync run
 * that touched only them), unless the org was marked behind meanwhile: then the whole org is.
 * Returns what it refreshed.
 */
export async function refreshAnalyticsRollups(
  db: Db,
  orgId: string,
  months?: RollupMonths,
): Promise<'org' | RollupMonths> {
  if (months && !months.length) return []
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db
    // One refresh of an org at a time (a sync ending while the snapshot job runs): the second
    // waits, then compares against what the first wrote instead of inserting the same groups again.
    await t.execute(sql`select pg_advisory_xact_lock(hashtext('deal_month_rollup'), hashtext(${orgId}))`)
    // A writer marks the org behind under this lock, after its deals committed: those may be in
    // any month, so a refresh of some months would leave them out.
    const scoped = months && (await rollupBuilt(t, orgId)) ? months : undefined
    const scope = scoped && monthScope(scoped)
    // The org's groups hashed in memory: at the default 4 MB the aggregate spilled to disk in five
    // batches at 100,000 deals (29k groups), about 10% of the refresh.
    await t.execute(sql`set local work_mem = '64MB'`)
    await refreshTable(
      t,
      orgId,
      'deal_month_rollup',
      ROLLUP_COLUMNS,
      sql`select d.org_id, d.state, date_trunc('month', d.closing_date)::date as close_month, d.owner_id,
                 max(d.owner_name) as owner_name, d.stage, d.pipeline, d.currency, d.territory,
                 d.forecast_category, count(*)::int as deal_count,
                 count(*) filter (where d.amount_sgd is null)::int as unpriced_count,
                 sum(d.amount_sgd) as amount_sgd, sum(d.amount_sgd * coalesce(d.effective_probability, 0)) as weighted100,
                 sum(d.closing_date - (d.created_time at time zone o.time_zone)::date)::int as cycle_days
          from deals d join orgs o on o.id = d.org_id
          where d.org_id = ${orgId} ${scope ? sql`and ${scope.deals}` : sql``}
          group by d.org_id, d.state, 3, d.owner_id, d.stage, d.pipeline, d.currency, d.territory,
                   d.forecast_category`,
      scope?.rows,
    )
    // Sums of sums: a sum over groups is null only when every group's is (every deal unpriced).
    await refreshTable(
      t,
      orgId,
      'deal_month_totals',
      TOTALS_COLUMNS,
      sql`select org_id, state, close_month, stage, sum(deal_count)::int as deal_count,
                 sum(unpriced_count)::int as unpriced_count, sum(amount_sgd) as amount_sgd,
                 sum(weighted100) as weighted100, sum(cycle_days)::int as cycle_days
          from deal_month_rollup where org_id = ${orgId} ${scope ? sql`and ${scope.rows}` : sql``}
          group by org_id, state, close_month, stage`,
      scope?.rows,
    )
    await t.execute(sql`insert into analytics_rollup_state (org_id, refreshed_at) values (${orgId}, now())
      on conflict (org_id) do update set refreshed_at = excluded.refreshed_at`)
    return scoped ?? 'org'
  })
}

/** Whether the org's rollup is built and not marked behind (its state row). */
async function rollupBuilt(db: Db, orgId: string): Promise<boolean> {
  const rows = await query(db, sql`select 1 from analytics_rollup_state where org_id = ${orgId}`)
  return rows.length > 0
}

/**
 * One rollup table made equal to `fresh` (its columns, in order) for the org, or for its rows
 * matching `scope`, in one statement: a group is compared as the text of its whole row (NULLs
 * included); unchanged rows are not touched.
 */
async function refreshTable(
  db: Db,
  orgId: string,
  table: string,
  cols: string[],
  fresh: SQL,
  scope?: SQL,
): Promise<void> {
  const columns = (alias = '') => sql.raw(cols.map((c) => alias + c).join(', '))
  const inScope = scope ? sql`and ${scope}` : sql``
  await db.execute(
    sql`with fresh as (${fresh}),
        fresh_keyed as (select f.*, row(${columns()})::text as k from fresh f),
        old as (select row(${columns()})::text as k from ${sql.identifier(table)} where org_id = ${orgId} ${inScope}),
        gone as (
          delete from ${sql.identifier(table)} r where r.org_id = ${orgId} ${inScope}
            and not exists (select 1 from fresh_keyed f where f.k = row(${columns('r.')})::text)
          returning 1
        ),
        added as (
          insert into ${sql.identifier(table)} (${columns()})
          select ${columns()} from fresh_keyed f where not exists (select 1 from old where old.k = f.k)
          returning 1
        )
        select (select count(*) from gone)::int as gone, (select count(*) from added)::int as added`,
  )
}

/**
 * How far before the last refresh a change still counts as possibly missed by it. A change's time
 * is its transaction's start (a run's heartbeat, a rate set's fetch), and it may commit after the
 * refresh read the deals: repricing a large org after a new rate set takes the longest.
 */
const REFRESH_MARGIN_MINUTES = 15

/**
 * Whether the org's rollup may be behind its deals anywhere: none built yet, or since its last
 * refresh (less the margin) a sync run of the org changed or deleted deals, a rate set was stored
 * (every org's deals are repriced with it), or the org's metadata was refreshed (its time zone
 * dates the cycle days). Every other writer of deals refreshes the rollup itself (FX job,
 * snapshot) or marks it behind (markRollupsBehind: Watch deletes), which drops the state row this
 * reads.
 */
export async function rollupBehind(db: Db, orgId: string): Promise<boolean> {
  const [r] = await query<{ behind: boolean }>(
    db,
    sql`with last as (
          select refreshed_at - make_interval(mins => ${REFRESH_MARGIN_MINUTES}) as since
          from analytics_rollup_state where org_id = ${orgId}
        )
        select not exists (select 1 from last)
          or exists (select 1 from sync_runs r, last where r.org_id = ${orgId}
                       and (r.records > 0 or r.deletions > 0) and r.heartbeat_at >= last.since)
          or exists (select 1 from fx_rate_sets f, last where f.fetched_at >= last.since)
          or exists (select 1 from sync_state s, last where s.org_id = ${orgId}
                       and s.metadata_refreshed_at >= last.since) as behind`,
  )
  return r?.behind ?? true
}

/**
 * Marks the rollups of one org (or of every org, when orgId is null) as behind their deals, for a
 * writer of deals that does not refresh them itself (a Watch delete, a sync run that wrote pages
 * and then failed, repricing every org's open deals). It drops the org's analytics_rollup_state row:
 * until the next refreshAnalyticsRollups, reads answer from the deals table (rollupReady is false)
 * and rollupBehind says true, so the next sync run or daily snapshot rebuilds them. Call it after
 * the deal writes have committed. It takes each org's refresh lock first: a refresh already
 * running may have read the deals before the change, and its commit would otherwise mark the
 * rollups fresh after this ran.
 */
export async function markRollupsBehind(db: Db, orgId: string | null): Promise<void> {
  await db.transaction(async (tx) => {
    const t = tx as unknown as Db
    const ids =
      orgId === null
        ? (await query<{ id: string }>(t, sql`select id from orgs order by id`)).map((o) => o.id)
        : [orgId]
    for (const id of ids)
      await t.execute(sql`select pg_advisory_xact_lock(hashtext('deal_month_rollup'), hashtext(${id}))`)
    await t.execute(
      orgId === null
        ? sql`delete from analytics_rollup_state`
        : sql`delete from analytics_rollup_state where org_id = ${orgId}`,
    )
  })
}

/**
 * Whether something besides the run's own deal writes may have left the rollup behind, which a
 * refresh of the run's months would miss: none built (or marked behind), a rate set stored since
 * the last refresh (less the margin), metadata refreshed during the run (time zone, stage mapping,
 * base currency), or another run of the org since the last refresh that did not succeed (one that
 * died did not mark it behind). A run that succeeded refreshed its own months before it said so.
 */
async function runTouchedAndBehind(
  db: Db,
  orgId: string,
  runId: string,
): Promise<{ touched: 'org' | RollupMonths | null; elsewhere: boolean }> {
  const [r] = await query<{ touched: string | null; elsewhere: boolean }>(
    db,
    sql`with last as (
          select refreshed_at - make_interval(mins => ${REFRESH_MARGIN_MINUTES}) as since
          from analytics_rollup_state where org_id = ${orgId}
        ), run as (select id, started_at, checkpoint from sync_runs where id = ${runId})
        select (run.checkpoint->'touched')::text as touched,
          not exists (select 1 from last)
          or exists (select 1 from fx_rate_sets f, last where f.fetched_at >= last.since)
          or exists (select 1 from sync_state s where s.org_id = ${orgId}
                       and s.metadata_refreshed_at >= run.started_at)
          or exists (select 1 from sync_runs o, last where o.org_id = ${orgId} and o.id <> run.id
                       and o.status <> 'succeeded' and o.heartbeat_at >= last.since) as elsewhere
        from run`,
  )
  const touched: unknown = r?.touched ? JSON.parse(r.touched) : null
  return {
    touched: touched === 'org' || Array.isArray(touched) ? (touched as 'org' | RollupMonths) : null,
    elsewhere: r?.elsewhere ?? true,
  }
}

/**
 * The sync's hook, at the end of a run (before the run is marked succeeded, so that a run that
 * succeeded has its deals in the rollup). An incremental or Watch run keeps the closing months it
 * touched in its checkpoint: only their groups are refreshed, unless something else may have moved
 * the figures (runTouchedAndBehind) or it touched too many ("org"). Otherwise (a full sync) the
 * whole org is, when it may be behind (a quiet incremental run changes nothing; at 1,000,000 deals
 * a whole refresh costs PostgreSQL about 3 s). Never throws, so a committed run is not reported as
 * failed. If the refresh fails, the org's rollup is dropped and the analytics read the deals table
 * until the next rebuild, rather than serve figures older than the sync.
 */
export async function refreshRollupsAfterSync(
  db: Db,
  orgId: string,
  runId: string,
  logger: Logger,
): Promise<void> {
  try {
    const { touched, elsewhere } = await runTouchedAndBehind(db, orgId, runId)
    if (Array.isArray(touched) && !elsewhere) await refreshAnalyticsRollups(db, orgId, touched)
    else if (touched === 'org' || (await rollupBehind(db, orgId))) await refreshAnalyticsRollups(db, orgId)
  } catch (err) {
    logger.error('analytics rollup refresh failed', { orgId, err })
    await db
      .execute(sql`delete from analytics_rollup_state where org_id = ${orgId}`)
      .catch((e: unknown) => logger.error('analytics rollup invalidation failed', { orgId, err: e }))
  }
}

/** After FX repricing (every org's amounts may have moved): rebuild each org's rollup. */
export async function refreshAllAnalyticsRollups(db: Db): Promise<void> {
  const orgs = await query<{ id: string }>(db, sql`select id from orgs`)
  for (const o of orgs) await refreshAnalyticsRollups(db, o.id)
}

const isMonthStart = (d: string) => d.endsWith('-01')
const isMonthEnd = (d: string) => addDays(d, 1).endsWith('-01')

/** Whether a period is whole calendar months (so the month rollup answers it exactly). */
export const wholeMonths = (p: Period) => isMonthStart(p.from) && isMonthEnd(p.to)

/**
 * The WHERE conditions for the month rollup (aliased `alias`), or null when it cannot answer: no
 * rollup built for the org yet, or a closing-date filter that cuts a month.
 */
export async function rollupConditions(
  ctx: AnalyticsContext,
  f: Filters,
  alias: string,
): Promise<SQL | null> {
  if (!ctx.org.rollupReady) return null
  if ((f.closeFrom && !isMonthStart(f.closeFrom)) || (f.closeTo && !isMonthEnd(f.closeTo))) return null
  return filterConditions(ctx, f, alias, 'close_month')
}

/**
 * The month rollup for a figure keyed by stage (aliased `alias`), or null as for rollupConditions:
 * the org's totals when neither the viewer's scope nor a filter narrows below a stage (the
 * manager's whole-org view, ~60x fewer rows), else the full rollup.
 */
export async function stageRollup(
  ctx: AnalyticsContext,
  f: Filters,
  alias: string,
): Promise<{ table: SQL; where: SQL } | null> {
  const where = await rollupConditions(ctx, f, alias)
  if (!where) return null
  // Columns deal_month_totals sums away; org, stage and closing month are kept.
  const narrowed = ctx.scope.ownerIds !== null || f.owner || f.team || f.pipeline || f.currency || f.territory
  return { table: sql.raw(narrowed ? 'deal_month_rollup' : 'deal_month_totals'), where }
}
