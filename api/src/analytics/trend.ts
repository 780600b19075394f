import { sql } from 'drizzle-orm'
import { query } from '../db/client'
import type { Filters } from '#shared/contracts/common'
import type { TrendResponse } from '#shared/contracts/trend'
import { filterConditions, ownerConditions, type AnalyticsContext } from './context'
import { money } from './decimal'
import { addDays } from './period'
import { badRequest } from '../http/errors'

interface Row {
  day: string
  count: number
  amount: string | null
  weighted: string | null
  unpriced: number
}

/** The range the org has snapshots for: from its first version to sync_state.last_snapshot_day. */
export async function snapshotCoverage(
  ctx: AnalyticsContext,
): Promise<{ first: string | null; last: string | null }> {
  const [row] = await query<{ first: string | null; last: string | null }>(
    ctx.db,
    sql`select (select min(valid_from)::text from deal_snapshots where org_id = ${ctx.org.id}) as first,
               (select last_snapshot_day::text from sync_state where org_id = ${ctx.org.id}) as last`,
  )
  return row ?? { first: null, last: null }
}

/**
 * "As of D" answers from the snapshot of D (METRICS), so D must be a day a snapshot was taken: the
 * versions would otherwise answer with the last earlier snapshot under D's label. A day without one
 * is a 400 NO_SNAPSHOT naming the nearest snapshotted days before and after it (pipeline_daily holds
 * a row for every snapshotted day), so the caller can pick one.
 */
export async function requireSnapshotDay(ctx: AnalyticsContext, day: string): Promise<void> {
  const [near] = await query<{ before: string | null; after: string | null }>(
    ctx.db,
    sql`select (select max(day)::text from pipeline_daily where org_id = ${ctx.org.id} and day <= ${day}) as before,
               (select min(day)::text from pipeline_daily where org_id = ${ctx.org.id} and day >= ${day}) as after`,
  )
  if (near?.before === day) return
  const nearest = [near?.before, near?.after].filter((d): d is string => !!d)
  throw badRequest(
    nearest.length
      ? `No snapshot of ${day}; the nearest snapshotted ${nearest.length > 1 ? 'days are' : 'day is'} ${nearest.join(' and ')}`
      : 'No snapshots yet: the daily snapshot job has not run',
    'NO_SNAPSHOT',
  )
}

/**
 * Open pipeline per day. Owner/team/pipeline filters read the pipeline_daily rollup; any other
 * filter (stage, currency, territory, closing dates) reads the snapshot versions directly.
 */
export async function trend(
  ctx: AnalyticsContext,
  filters: Filters,
  range: { from?: string; to?: string },
): Promise<TrendResponse> {
  const cov = await snapshotCoverage(ctx)
  // `to` defaults to the newest snapshot day (today before the first), or to a lone `from` after it
  // (an empty trend, not an inverted range); `from` to 90 days before `to`, whether sent or not: the
  // last 90 days of data, and a 90-day window ending on a `to` the user picks.
  const newest = cov.last ?? ctx.today
  const to = range.to ?? (range.from !== undefined && range.from > newest ? range.from : newest)
  const from = range.from ?? addDays(to, -90)
  const lo = cov.first && cov.first > from ? cov.first : from
  const hi = cov.last && cov.last < to ? cov.last : to
  if (!cov.first || !cov.last || lo > hi) return { currency: ctx.org.baseCurrency, from, to, points: [] }
  // The snapshotted days in range (pipeline_daily holds at least a zero row for each).
  const days = sql`(select distinct day from pipeline_daily
                    where org_id = ${ctx.org.id} and day between ${lo} and ${hi}) as g(day)`
  const rollupOnly =
    !filters.stage && !filters.currency && !filters.territory && !filters.closeFrom && !filters.closeTo
  let rows: Row[]
  if (rollupOnly) {
    const conds = await ownerConditions(ctx, filters, 'p')
    if (filters.pipeline) conds.push(sql`p.pipeline = ${filters.pipeline}`)
    rows = await query<Row>(
      ctx.db,
      sql`select g.day::date::text as day, coalesce(sum(p.open_count), 0)::int as count,
                 sum(p.open_amount) as amount, sum(p.open_weighted) as weighted,
                 coalesce(sum(p.unpriced_count), 0)::int as unpriced
          from ${days}
          left join pipeline_daily p on p.day = g.day::date and ${sql.join(conds, sql` and `)}
          group by g.day order by g.day`,
    )
  } else {
    const where = await filterConditions(ctx, filters, 'd')
    rows = await query<Row>(
      ctx.db,
      sql`select g.day::date::text as day, count(d.deal_id)::int as count, sum(d.amount_sgd) as amount,
                 sum(d.amount_sgd * coalesce(d.probability, 0)) * 0.01 as weighted,
                 count(d.deal_id) filter (where d.amount_sgd is null)::int as unpriced
          from ${days}
          left join deal_snapshots d on d.valid_from <= g.day::date
            and (d.valid_to is null or d.valid_to > g.day::date) and d.state = 'open' and ${where}
          group by g.day order by g.day`,
    )
  }
  return {
    currency: ctx.org.baseCurrency,
    from,
    to,
    points: rows.map((r) => ({
      day: r.day,
      count: r.count,
      amount: money(r.amount, ctx.org.baseCurrency),
      weighted: money(r.weighted, ctx.org.baseCurrency),
      unpriced: r.unpriced,
    })),
  }
}
