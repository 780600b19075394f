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
 * stage converts to won. The win rate is METRICS' "Win rate": won ÷ (won + lost) of the cohort, by
 * count (deals still open are not yet decided; the last step's conversion shows won ÷ reached).
 */
export async function funnel(
  ctx: AnalyticsContext,
  filters: Filters,
  period: Period,
): Promise<FunnelResponse> {
  const where = await filterConditions(ctx, filters, 'd')
  const org = ctx.org.id
  const tz = ctx.org.timeZone
  const created = sql`d.created_time >= (${period.from}::date::timestamp at time zone ${tz})
    and d.created_time < ((${period.to}::date + 1)::timestamp at time zone ${tz})`
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
          ), keys as (
            select display_value as key, rk from open_rank
            union
            select actual_value, rk from open_rank
          ), cur as (
            select key, max(rk) as rk from keys group by key
          ), by_stage as (
            -- The cohort by current stage and the furthest stage its history reached (kept by the
            -- stage_history trigger), counted from deals_org_created_idx alone. Created date (org
            -- time zone) in P, as an instant range that index serves.
            select d.state, d.stage, d.furthest_stage, count(*)::int as n from deals d
            where ${where} and ${created}
            group by 1, 2, 3
          )
          select greatest(coalesce(cr.rk, 0), coalesce(f.rk, 0)) as rk, b.state, sum(b.n)::int as n
          from by_stage b left join cur cr on cr.key = b.stage
          left join open_rank f on f.display_value = b.furthest_stage
          group by 1, 2`,
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
    winRate: ratio(won, won + lost),
  }
}
