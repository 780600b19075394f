import { sql } from 'drizzle-orm'
import { query } from '../db/client'
import type { Filters } from '#shared/contracts/common'
import type { TimeInStageResponse } from '#shared/contracts/funnel'
import { stageKeys } from './stage-keys'
import { filterConditions, type AnalyticsContext } from './context'
import { divRound } from './decimal'
import { calendarDays, calendarDaysTo } from './days'
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
  const rows = await query<{
    stage: string
    left_n: number
    left_days: string | null
    cur_n: number
    cur_days: string | null
  }>(
    ctx.db,
    sql`-- Not materialized: its conditions reach each use (the history's few deals by key, the open
        -- deals by index) instead of all the org's deals being copied first (1.2 s → 0.3 s at 1M).
        with scoped as not materialized (select d.id, d.state, d.stage, d.stage_entered_at, d.created_time from deals d where ${where}),
        hist as (
          select h.deal_id, coalesce(st.display_value, h.stage) as stage, h.entered_at
          from stage_history h
          join scoped s on s.id = h.deal_id
          left join (${stageKeys(org)}) st on st.key = h.stage
          where h.org_id = ${org}
        ), h as (
          -- One stay per run of the same stage: a row repeating the stage before it (an Amount or
          -- Closing_Date edit, or display then actual value) does not leave the stage.
          select deal_id, stage, entered_at, lead(entered_at) over (partition by deal_id order by entered_at) as left_at
          from (select r.*, lag(r.stage) over (partition by r.deal_id order by r.entered_at, r.stage) as prev
                from hist r) x
          where prev is distinct from stage
        ), leaving as (
          select stage, count(*)::int as n, sum(${calendarDays(sql`entered_at`, sql`left_at`, tz)}) as days
          from h where left_at is not null and (left_at at time zone ${tz})::date between ${period.from} and ${period.to}
          group by stage
        ), cur as (
          select s.stage, count(*)::int as n,
                 sum(${calendarDaysTo(
                   sql`coalesce(s.stage_entered_at,
                     (select max(h2.entered_at) from h h2 where h2.deal_id = s.id),
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
