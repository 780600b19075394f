import { sql, type SQL } from 'drizzle-orm'
import type { z } from 'zod'
import { query } from '../db/client'
import type { Filters } from '#shared/contracts/common'
import type { byOwnerResponse } from '#shared/contracts/pipeline'
import { filterConditions, type AnalyticsContext } from './context'
import { money, ratio } from './decimal'
import type { Period } from './period'
import { rollupConditions, wholeMonths } from './rollup'

interface Row {
  owner_id: string
  owner_name: string | null
  open_count: number
  open_amount: string | null
  open_weighted100: string | null
  won_count: number
  won_amount: string | null
  lost_count: number
  lost_amount: string | null
  target: string | null
}

/**
 * The rep leaderboard for P. Quota attainment = won amount in P ÷ the owner's targets whose period
 * lies inside P (null when no target exists).
 */
export async function pipelineByOwner(
  ctx: AnalyticsContext,
  filters: Filters,
  period: Period,
): Promise<z.infer<typeof byOwnerResponse>> {
  const rolled = wholeMonths(period) ? await rollupConditions(ctx, filters, 'd') : null
  const where = rolled ?? (await filterConditions(ctx, filters, 'd'))
  const inP = sql`d.closing_date between ${period.from} and ${period.to}`
  const rows = await query<Row>(
    ctx.db,
    sql`with agg as (${
      rolled
        ? rollupAgg(where, period)
        : sql`
          select coalesce(d.owner_id, '') as owner_id,
                 count(*) filter (where d.state = 'open')::int as open_count,
                 sum(d.amount_sgd) filter (where d.state = 'open') as open_amount,
                 sum(d.amount_sgd * coalesce(d.effective_probability, 0)) filter (where d.state = 'open') as open_weighted100,
                 count(*) filter (where d.state = 'won' and ${inP})::int as won_count,
                 sum(d.amount_sgd) filter (where d.state = 'won' and ${inP}) as won_amount,
                 count(*) filter (where d.state = 'lost' and ${inP})::int as lost_count,
                 sum(d.amount_sgd) filter (where d.state = 'lost' and ${inP}) as lost_amount,
                 max(d.owner_name) as owner_name
          from deals d
          where ${where} and (d.state = 'open' or (d.state in ('won', 'lost') and ${inP}))
          group by 1`
    }
        ), tgt as (
          select owner_id, sum(amount) as target from sales_targets
          where org_id = ${ctx.org.id} and period_start >= ${period.from} and period_end <= ${period.to}
          group by owner_id
        )
        select agg.*, coalesce(u.full_name, agg.owner_name) as owner_name, tgt.target
        from agg
        left join users u on u.org_id = ${ctx.org.id} and u.id = agg.owner_id
        left join tgt on tgt.owner_id = agg.owner_id
        order by coalesce(agg.won_amount, 0) desc, coalesce(agg.open_amount, 0) desc, agg.owner_id`,
  )
  return {
    currency: ctx.org.baseCurrency,
    period,
    owners: rows.map((r) => ({
      ownerId: r.owner_id,
      ownerName: r.owner_name,
      open: {
        count: r.open_count,
        amount: money(r.open_amount, ctx.org.baseCurrency),
        weighted: money(r.open_weighted100, ctx.org.baseCurrency, 100n),
      },
      won: { count: r.won_count, amount: money(r.won_amount, ctx.org.baseCurrency) },
      lost: { count: r.lost_count, amount: money(r.lost_amount, ctx.org.baseCurrency) },
      winRate: ratio(r.won_count, r.won_count + r.lost_count),
      target: r.target === null ? null : money(r.target, ctx.org.baseCurrency),
      attainment: r.target === null ? null : ratio(r.won_amount ?? '0', r.target),
    })),
  }
}

/** The per-owner sums from the month rollup (aliased d): P is whole months. */
function rollupAgg(where: SQL, period: Period): SQL {
  const inP = sql`d.close_month between ${period.from} and ${period.to}`
  const won = sql`d.state = 'won' and ${inP}`
  const lost = sql`d.state = 'lost' and ${inP}`
  const n = (cond: SQL) => sql`coalesce(sum(d.deal_count) filter (where ${cond}), 0)::int`
  return sql`
    select coalesce(d.owner_id, '') as owner_id,
           ${n(sql`d.state = 'open'`)} as open_count,
           sum(d.amount_sgd) filter (where d.state = 'open') as open_amount,
           sum(d.weighted100) filter (where d.state = 'open') as open_weighted100,
           ${n(won)} as won_count,
           sum(d.amount_sgd) filter (where ${won}) as won_amount,
           ${n(lost)} as lost_count,
           sum(d.amount_sgd) filter (where ${lost}) as lost_amount,
           max(d.owner_name) as owner_name
    from deal_month_rollup d
    where ${where} and (d.state = 'open' or (d.state in ('won', 'lost') and ${inP}))
    group by 1`
}
