import { sql } from 'drizzle-orm'
import { query } from '../db/client'
import { filtersSchema, type Filters } from '#shared/contracts/common'
import type { TimeInStageResponse } from '#shared/contracts/funnel'
import { filterConditions, ownerConditions, type AnalyticsContext } from './context'
import { divRound } from './decimal'
import { calendarDaysTo } from './days'
import type { Period } from './period'

/** The mean of n stays' calendar days, to one decimal (half-even). */
const mean = (totalDays: string | null, n: number) =>
  n && totalDays !== null ? Number(divRound(totalDays, BigInt(n), 1)) : null

/**
 * Time in stage (METRICS): from entering a stage to leaving it (the next stage-history entry of
 * another stage; consecutive entries of the same stage are one stay), in calendar days in the org's
 * time zone (days.ts: the risk list and the deal view count the same days).
 * Averages are over deals that left the stage in P (leaving date in the org's time zone); for open
 * deals, the current stage counts "so far" (from stage_entered_at, else the start of the last run of
 * history entries).
 */
export async function timeInStage(
  ctx: AnalyticsContext,
  filters: Filters,
  period: Period,
): Promise<TimeInStageResponse> {
  const where = await filterConditions(ctx, filters, 'd')
  const org = ctx.org.id
  const tz = ctx.org.timeZone
  // Every stay is of one of the org's deals (deleting a deal deletes its history, and the trigger
  // its stays) and carries the deal's owner now. With no filter but owners, the stays serve without
  // the deals: for the whole org their daily totals (~500 rows for a quarter instead of 800,000
  // stays at 1M deals), for a rep or a team their own stays by owner.
  // The filters' own keys only: the route passes its whole query (the period's from and to too).
  const byOwnerOnly = (Object.keys(filtersSchema.shape) as (keyof Filters)[]).every(
    (k) => filters[k] === undefined || k === 'owner' || k === 'team',
  )
  const wholeOrg = byOwnerOnly && ctx.scope.ownerIds === null && !filters.owner && !filters.team
  const rows = await query<{
    stage: string
    left_n: number
    left_days: string | null
    cur_n: number
    cur_days: string | null
  }>(
    ctx.db,
    sql`-- Not materialized: its conditions reach each use (the stays' deals by key, the open deals
        -- by index) instead of all the org's deals being copied first (1.2 s → 0.3 s at 1M).
        with scoped as not materialized (select d.id, d.state, d.stage, d.stage_entered_at, d.created_time from deals d where ${where}),
        leaving as (
          -- Stays that ended in P, by the leaving date and calendar days (org time zone) the
          -- history's trigger keeps with them: for a whole org their daily totals, for owners their
          -- stays (stage_stays_owner_left_on_idx), else the stays of the scoped deals
          -- (stage_stays_left_on_idx); each index holds every column read.
          ${
            wholeOrg
              ? sql`select h.stage, sum(h.stays)::int as n, sum(h.days) as days from stay_day_totals h
                    where h.org_id = ${org}`
              : byOwnerOnly
                ? sql`select h.stage, count(*)::int as n, sum(h.days) as days from stage_stays h
                      where ${sql.join(await ownerConditions(ctx, filters, 'h'), sql` and `)}`
                : sql`select h.stage, count(*)::int as n, sum(h.days) as days
                      from stage_stays h join scoped s on s.id = h.deal_id where h.org_id = ${org}`
          }
          and h.left_on between ${period.from} and ${period.to}
          group by h.stage
        ), cur as (
          select s.stage, count(*)::int as n,
                 sum(${calendarDaysTo(
                   sql`coalesce(s.stage_entered_at,
                     (select max(h2.entered_at) from stage_stays h2 where h2.org_id = ${org} and h2.deal_id = s.id),
                     s.created_time)`,
                   ctx.today,
                   tz,
                 )}) as days
          from scoped s where s.state = 'open' group by s.stage
        )
        select coalesce(l.stage, c.stage) as stage, coalesce(l.n, 0)::int as left_n, l.days::text as left_days,
               coalesce(c.n, 0)::int as cur_n, c.days::text as cur_days
        from leaving l full join cur c on c.stage = l.stage
        left join stages st on st.org_id = ${org} and st.display_value = coalesce(l.stage, c.stage)
        order by st.sequence nulls last, 1`,
  )
  return {
    period,
    stages: rows.map((r) => ({
      stage: r.stage,
      left: { count: r.left_n, averageDays: mean(r.left_days, r.left_n) },
      current: { count: r.cur_n, averageDaysSoFar: mean(r.cur_days, r.cur_n) },
    })),
  }
}
