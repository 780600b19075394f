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
 * Bring the org's deal_month_rollup in line with the deals table, then deal_month_totals in line
 * with the rollup, set-based in one transaction (readers see the old figures or the new ones, never
 * half). Only groups whose figures changed are rewritten: a full delete-and-insert after every sync
 * and snapshot left the tables mostly dead tuples, and the summary's scans slowed with them. Called
 * after FX repricing, by the daily snapshot, and after a successful sync run when rollupBehind says
 * the deals may have moved: every writer of deals ends in one of them.
 */
export async function refreshAnalyticsRollups(db: Db, orgId: string): Promise<void> {
  await db.transaction(async (tx) => {
    const t = tx as unknown as Db
    // One refresh of an org at a time (a sync ending while the snapshot job runs): the second
    // waits, then compares against what the first wrote instead of inserting the same groups again.
    await t.execute(sql`select pg_advisory_xact_lock(hashtext('deal_month_rollup'), hashtext(${orgId}))`)
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
          where d.org_id = ${orgId}
          group by d.org_id, d.state, 3, d.owner_id, d.stage, d.pipeline, d.currency, d.territory,
                   d.forecast_category`,
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
          from deal_month_rollup where org_id = ${orgId}
          group by org_id, state, close_month, stage`,
    )
    await t.execute(sql`insert into analytics_rollup_state (org_id, refreshed_at) values (${orgId}, now())
      on conflict (org_id) do update set refreshed_at = excluded.refreshed_at`)
  })
}

/**
 * One rollup table made equal to `fresh` (its columns, in order) for the org, in one statement: a
 * group is compared as the text of its whole row (NULLs included); unchanged rows are not touched.
 */
async function refreshTable(db: Db, orgId: string, table: string, cols: string[], fresh: SQL): Promise<void> {
  const columns = (alias = '') => sql.raw(cols.map((c) => alias + c).join(', '))
  await db.execute(
    sql`with fresh as (${fresh}),
        fresh_keyed as (select f.*, row(${columns()})::text as k from fresh f),
        old as (select row(${columns()})::text as k from ${sql.identifier(table)} where org_id = ${orgId}),
        gone as (
          delete from ${sql.identifier(table)} r where r.org_id = ${orgId}
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
 * Whether the org's rollup may be behind its deals: none built yet, or since its last refresh
 * (less the margin) a sync run of the org changed or deleted deals, a rate set was stored (every
 * org's deals are repriced with it), or the org's metadata was refreshed (its time zone dates the
 * cycle days). Every other writer of deals refreshes the rollup itself (FX job, snapshot) or marks
 * it behind (markRollupsBehind: Watch deletes), which drops the state row this reads.
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
 * The sync's hook (end of a successful run): refreshes the rollup when it may be behind (a quiet
 * incremental run changes nothing, and at 1,000,000 deals a refresh costs PostgreSQL about 3 s).
 * Never throws, so a committed run is not reported as failed. If the rebuild fails, the org's
 * rollup is dropped and the analytics read the deals table until the next rebuild, rather than
 * serve figures older than the sync.
 */
export async function refreshRollupsAfterSync(db: Db, orgId: string, logger: Logger): Promise<void> {
  try {
    if (!(await rollupBehind(db, orgId))) return
    await refreshAnalyticsRollups(db, orgId)
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
