import { sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { query } from '../db/client'
import type { Job } from '../jobs'
import { badRequest } from '../http/errors'
import { addDays, localDate } from './period'
import { refreshAnalyticsRollups } from './rollup'
import { jsonParam } from '../sync/metadata'

/** The columns a snapshot version tracks: a change in any of them starts a new version. */
const TRACKED = sql.raw(
  'stage, state, amount_sgd, probability, closing_date, owner_id, forecast_category, pipeline, created_date, currency, territory',
)

/**
 * Record the end-of-day state of every deal for `day` (YYYY-MM-DD, the org's calendar) as
 * day-granular versions, set-based: versions whose deal changed or was deleted are closed
 * (valid_to = day), new versions open for changed and new deals, and pipeline_daily gets that day's
 * rollup. Re-running the same day replaces it; days before the newest snapshot cannot be rewritten.
 * Deals created after `day` (in the org's time zone) are left out.
 */
export async function takeSnapshot(db: Db, orgId: string, day: string): Promise<{ versions: number }> {
  const result = await snapshotTx(db, orgId, day)
  // The rollups follow the deals every day too (and after data loaded without a sync run).
  await refreshAnalyticsRollups(db, orgId)
  return result
}

function snapshotTx(db: Db, orgId: string, day: string): Promise<{ versions: number }> {
  return db.transaction(async (tx) => {
    const [org] = await query<{ tz: string; latest: string | null }>(
      tx as unknown as Db,
      sql`select time_zone as tz,
                 (select max(valid_from)::text from deal_snapshots where org_id = ${orgId}) as latest
          from orgs where id = ${orgId}`,
    )
    if (!org) throw badRequest(`Unknown org ${orgId}`)
    if (org.latest && org.latest > day)
      throw badRequest(`A snapshot of ${org.latest} exists; ${day} cannot be rewritten`)
    const t = tx as unknown as Db
    // Re-run of the same day: undo its versions first.
    const undone = await query<{ deal_id: string }>(
      t,
      sql`delete from deal_snapshots where org_id = ${orgId} and valid_from = ${day} returning deal_id`,
    )
    await t.execute(
      sql`update deal_snapshots set valid_to = null where org_id = ${orgId} and valid_to = ${day}`,
    )
    const current = sql`select org_id, id as deal_id, stage, state, amount_sgd,
                               effective_probability as probability, closing_date, owner_id, forecast_category,
                               pipeline, (created_time at time zone ${org.tz})::date as created_date,
                               currency, territory
                        from deals
                        where org_id = ${orgId} and (created_time at time zone ${org.tz})::date <= ${day}`
    await t.execute(
      sql`update deal_snapshots s set valid_to = ${day}
          where s.org_id = ${orgId} and s.valid_to is null
            and not exists (
              select 1 from (${current}) c
              where c.deal_id = s.deal_id
                and (c.stage, c.state, c.amount_sgd, c.probability, c.closing_date, c.owner_id,
                     c.forecast_category, c.pipeline, c.created_date, c.currency, c.territory)
                    is not distinct from
                    (s.stage, s.state, s.amount_sgd, s.probability, s.closing_date, s.owner_id,
                     s.forecast_category, s.pipeline, s.created_date, s.currency, s.territory))`,
    )
    const inserted = await query<{ n: number }>(
      t,
      sql`with ins as (
            insert into deal_snapshots (org_id, deal_id, valid_from, valid_to, weighted_sgd, ${TRACKED})
            select c.org_id, c.deal_id, ${day}, null, c.amount_sgd * c.probability * 0.01,
                   c.stage, c.state, c.amount_sgd, c.probability, c.closing_date, c.owner_id,
                   c.forecast_category, c.pipeline, c.created_date, c.currency, c.territory
            from (${current}) c
            -- Unchanged deals keep their open version. (Not an anti-join on this same table: with a
            -- generic plan that can become a nested loop rescanning the rows being inserted.)
            on conflict (org_id, deal_id) where valid_to is null do nothing
            returning 1
          ) select count(*)::int as n from ins`,
    )
    await countPushes(
      t,
      orgId,
      day,
      undone.map((r) => r.deal_id),
    )
    await t.execute(sql`delete from pipeline_daily where org_id = ${orgId} and day = ${day}`)
    await t.execute(
      sql`insert into pipeline_daily
            (org_id, day, owner_id, pipeline, open_count, open_amount, open_weighted, unpriced_count)
          select ${orgId}, ${day}, coalesce(owner_id, ''), coalesce(pipeline, ''), count(*)::int,
                 coalesce(sum(amount_sgd), 0), coalesce(sum(amount_sgd * coalesce(probability, 0)) * 0.01, 0),
                 count(*) filter (where amount_sgd is null)::int
          from deal_snapshots
          where org_id = ${orgId} and valid_from <= ${day} and (valid_to is null or valid_to > ${day})
            and state = 'open'
          group by 3, 4`,
    )
    // A zero row marks the day as snapshotted even when nothing is open (the trend's day list).
    await t.execute(
      sql`insert into pipeline_daily
            (org_id, day, owner_id, pipeline, open_count, open_amount, open_weighted, unpriced_count)
          values (${orgId}, ${day}, '', '', 0, 0, 0, 0) on conflict do nothing`,
    )
    await t.execute(
      sql`insert into sync_state (org_id, last_snapshot_day) values (${orgId}, ${day})
          on conflict (org_id) do update
          set last_snapshot_day = greatest(sync_state.last_snapshot_day, excluded.last_snapshot_day)`,
    )
    return { versions: inserted[0]?.n ?? 0 }
  })
}

/**
 * deals.snapshot_push_count: how often the closing date moved later along the deal's versions (the
 * risk list's slipping), recounted for the deals this day gave a version, or took one from on a
 * re-run. Only those can have changed, so a day costs what it changed, not the org.
 */
async function countPushes(t: Db, orgId: string, day: string, undone: string[]) {
  await t.execute(
    sql`update deals d set snapshot_push_count = p.n
        from (select deal_id, count(*) filter (where closing_date > prev)::int as n
              from (select s.deal_id, s.closing_date,
                           lag(s.closing_date) over (partition by s.deal_id order by s.valid_from) as prev
                    from deal_snapshots s
                    where s.org_id = ${orgId}
                      and s.deal_id in (select deal_id from deal_snapshots where org_id = ${orgId} and valid_from = ${day}
                                        union select jsonb_array_elements_text(${jsonParam(undone)}))) x
              group by deal_id) p
        where d.org_id = ${orgId} and d.id = p.deal_id and d.snapshot_push_count <> p.n`,
  )
}

/**
 * Scheduled hourly: snapshot the day just ended for every org whose local day has ended since its
 * last snapshot. The state at run time stands for the end of that day (the job runs minutes after
 * local midnight); days missed while down are covered by the open versions carrying on. Each org on
 * its own: one that fails (a time zone nothing can read, a snapshot that cannot be written) is
 * logged with its id and counted in the result, and the next run tries it again; the others still
 * get theirs.
 */
export const snapshotJob: Job = async (ctx) => {
  const orgs = await query<{ id: string; tz: string; last: string | null }>(
    ctx.db,
    sql`select o.id, o.time_zone as tz, s.last_snapshot_day::text as last
        from orgs o left join sync_state s on s.org_id = o.id order by o.id`,
  )
  const done: string[] = []
  const failed: { orgId: string; error: string }[] = []
  for (const org of orgs) {
    let day: string | null = null
    try {
      day = addDays(localDate(ctx.now(), org.tz), -1)
      if (org.last && org.last >= day) continue
      const r = await takeSnapshot(ctx.db, org.id, day)
      ctx.logger.info('snapshot taken', { orgId: org.id, day, versions: r.versions })
      done.push(org.id)
    } catch (err) {
      ctx.logger.error('snapshot failed', { orgId: org.id, day, timeZone: org.tz, err })
      failed.push({ orgId: org.id, error: err instanceof Error ? err.message : String(err) })
    }
  }
  return { orgs: done.length, failed: failed.length, ...(failed.length ? { failedOrgs: failed } : {}) }
}
