import { sql, type SQL } from 'drizzle-orm'
import { query } from '../db/client'
import type { Filters } from '#shared/contracts/common'
import type { z } from 'zod'
import type { byStageResponse } from '#shared/contracts/pipeline'
import { filterConditions, type AnalyticsContext } from './context'
import { money } from './decimal'
import type { Period } from './period'
import { dealSource, type DealSource } from './source'
import { stageRollup, wholeMonths } from './rollup'

interface StageAgg {
  stage: string
  count: number
  amount: string | null
  weighted100: string | null
}

/** Pipeline order: the stage picklist's sequence; stages missing from the picklist go last by name. */
const stageOrder = (orgId: string) =>
  sql`left join stages st on st.org_id = ${orgId} and st.display_value = g.stage
      order by st.sequence nulls last, g.stage`

/** Open deals by stage (display value) in pipeline order: the summary's byStage. */
export async function openByStage(ctx: AnalyticsContext, where: SQL, src: DealSource) {
  const rows = await query<StageAgg>(
    ctx.db,
    sql`select g.* from (
          select d.stage, count(*)::int as count, sum(d.amount_sgd) as amount,
                 sum(d.amount_sgd * ${src.probability}) as weighted100
          from ${src.from} where ${where} and d.state = 'open' group by d.stage
        ) g ${stageOrder(ctx.org.id)}`,
  )
  return rows.map((r) => ({
    stage: r.stage,
    count: r.count,
    amount: money(r.amount, ctx.org.baseCurrency),
    weighted: money(r.weighted100, ctx.org.baseCurrency, 100n),
  }))
}

/** openByStage from a month rollup (aliased d). */
export async function rollupOpenByStage(ctx: AnalyticsContext, rollup: { table: SQL; where: SQL }) {
  const rows = await query<StageAgg>(
    ctx.db,
    sql`select g.* from (
          select d.stage, sum(d.deal_count)::int as count, sum(d.amount_sgd) as amount,
                 sum(d.weighted100) as weighted100
          from ${rollup.table} d where ${rollup.where} and d.state = 'open' group by d.stage
        ) g ${stageOrder(ctx.org.id)}`,
  )
  return rows.map((r) => ({
    stage: r.stage,
    count: r.count,
    amount: money(r.amount, ctx.org.baseCurrency),
    weighted: money(r.weighted100, ctx.org.baseCurrency, 100n),
  }))
}

/** Every stage of the picklist (and any unknown stage in use): open deals, won/lost deals closed in P. */
export async function pipelineByStage(
  ctx: AnalyticsContext,
  filters: Filters,
  period: Period,
): Promise<z.infer<typeof byStageResponse>> {
  const src = dealSource(ctx)
  const rolled = wholeMonths(period) ? await stageRollup(ctx, filters, 'd') : null
  const where = rolled?.where ?? (await filterConditions(ctx, filters, 'd'))
  const agg = rolled
    ? sql`select d.stage, min(d.state) as state, sum(d.deal_count)::int as count, sum(d.amount_sgd) as amount,
                 sum(d.weighted100) as weighted100
          from ${rolled.table} d
          where ${where}
            and (d.state in ('open', 'unknown') or d.close_month between ${period.from} and ${period.to})
          group by d.stage`
    : sql`select d.stage, min(d.state) as state, count(*)::int as count, sum(d.amount_sgd) as amount,
                 sum(d.amount_sgd * ${src.probability}) as weighted100
          from deals d
          where ${where}
            and (d.state in ('open', 'unknown') or d.closing_date between ${period.from} and ${period.to})
          group by d.stage`
  const rows = await query<
    StageAgg & { state: string; probability: number | null; forecast_category: string | null }
  >(
    ctx.db,
    sql`with agg as (${agg})
        select coalesce(st.display_value, agg.stage) as stage, coalesce(st.state, agg.state) as state,
               coalesce(agg.count, 0)::int as count, agg.amount, agg.weighted100,
               st.probability::int as probability, st.forecast_category
        from (select * from stages where org_id = ${ctx.org.id} and used) st
        full join agg on agg.stage = st.display_value
        order by st.sequence nulls last, agg.stage`,
  )
  return {
    currency: ctx.org.baseCurrency,
    period,
    stages: rows.map((r) => ({
      stage: r.stage,
      state: r.state as 'open' | 'won' | 'lost' | 'unknown',
      probability: r.probability,
      forecastCategory: r.forecast_category,
      count: r.count,
      amount: money(r.amount, ctx.org.baseCurrency),
      weighted: money(r.weighted100, ctx.org.baseCurrency, 100n),
    })),
  }
}
