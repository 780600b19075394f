import { sql } from 'drizzle-orm'
import { query } from '../db/client'
import type { Filters } from '#shared/contracts/common'
import type { FunnelResponse } from '#shared/contracts/funnel'
import { filterConditions, type AnalyticsContext } from './context'
import { ratio } from './decimal'
import type { Period } from './period'

/**
 * Funnel for deals created in P (METRICS): per open stage in pipeline order, the deals that reached
 * it or a later one, from their stage history and current stage (history may hold display or actual
 * values); won deals reached every stage. Conversion = reached(next) ÷ reached(this); the last open
 * stage converts to won.
 */
export async function funnel(
  ctx: AnalyticsContext,
  filters: Filters,
  period: Period,
): Promise<FunnelResponse> {
  const where = await filterConditions(ctx, filters, 'd')
  const org = ctx.org.id
  const [stages, ranks] = await Promise.all([
    query<{ stage: string }>(
      ctx.db,
      sql`select display_value as stage from stages where org_id = ${org} and used and state = 'open'
          order by sequence`,
    ),
    query<{ rk: number; state: string; n: number }>(
      ctx.db,
      sql`with open_rank as (
            select display_value, actual_value, row_number() over (order by sequence)::int as rk
            from stages where org_id = ${org} and used and state = 'open'
          ), cohort as (
            select d.id, d.state, d.stage from deals d
            where ${where} and (d.created_time at time zone ${ctx.org.timeZone})::date between ${period.from} and ${period.to}
          )
          select greatest(
                   coalesce((select max(r.rk) from stage_history h
                             join open_rank r on h.stage in (r.display_value, r.actual_value)
                             where h.org_id = ${org} and h.deal_id = c.id), 0),
                   coalesce((select max(r.rk) from open_rank r where c.stage in (r.display_value, r.actual_value)), 0)
                 )::int as rk,
                 c.state, count(*)::int as n
          from cohort c group by 1, 2`,
    ),
  ])
  const cohort = ranks.reduce((s, r) => s + r.n, 0)
  const won = ranks.filter((r) => r.state === 'won').reduce((s, r) => s + r.n, 0)
  const lost = ranks.filter((r) => r.state === 'lost').reduce((s, r) => s + r.n, 0)
  const reached = stages.map((_, i) =>
    ranks.filter((r) => r.state === 'won' || r.rk >= i + 1).reduce((s, r) => s + r.n, 0),
  )
  return {
    period,
    cohort,
    steps: stages.map((s, i) => ({
      stage: s.stage,
      reached: reached[i]!,
      conversionToNext: ratio(i + 1 < stages.length ? reached[i + 1]! : won, reached[i]!),
    })),
    won,
    lost,
    winRate: ratio(won, cohort),
  }
}
