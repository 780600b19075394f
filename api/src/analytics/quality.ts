import { sql } from 'drizzle-orm'
import { query } from '../db/client'
import type { Filters } from '#shared/contracts/common'
import { QUALITY_ISSUES, type QualityResponse } from '#shared/contracts/quality'
import { filterConditions, zohoDealUrl, type AnalyticsContext } from './context'

interface Row {
  issue: (typeof QUALITY_ISSUES)[number]
  n: number
  id: string | null
  name: string
  stage: string
  state: string
  owner_id: string | null
  currency: string
  amount: string | null
  closing_date: string | null
}

/** Data-quality problems in scope: each issue's count and its first `limit` deals (by id). */
export async function quality(
  ctx: AnalyticsContext,
  filters: Filters,
  limit: number,
): Promise<QualityResponse> {
  const where = await filterConditions(ctx, filters, 'd')
  const rows = await query<Row>(
    ctx.db,
    sql`with issues as (
          select x.issue, d.id, d.name, d.stage, d.state, d.owner_id, d.currency, d.amount, d.closing_date
          from deals d
          cross join lateral (values
            ('unpriced', d.amount_sgd is null),
            ('pastDue', d.state = 'open' and d.closing_date < ${ctx.today}::date),
            ('missingAmount', d.amount is null),
            ('unknownStage', d.state = 'unknown')
          ) as x(issue, hit)
          -- The issues again, outside the lateral: the planner then reads only these deals, by the
          -- partial deals_quality_idx and the open deals' closing dates, not every deal in scope.
          where ${where} and x.hit
            and (d.amount_sgd is null or d.amount is null or d.state = 'unknown'
                 or (d.state = 'open' and d.closing_date < ${ctx.today}::date))
        ), ranked as (
          select i.*, count(*) over (partition by issue)::int as n,
                 row_number() over (partition by issue order by id) as rn
          from issues i
        )
        select issue, n, case when rn <= ${limit} then id end as id, name, stage, state, owner_id, currency,
               amount::text as amount, closing_date::text as closing_date
        from ranked where rn <= greatest(${limit}, 1) order by issue, rn`,
  )
  const out = { today: ctx.today } as QualityResponse
  for (const issue of QUALITY_ISSUES) {
    const mine = rows.filter((r) => r.issue === issue)
    out[issue] = {
      count: mine[0]?.n ?? 0,
      deals: mine
        .filter((r) => r.id !== null)
        .map((r) => ({
          id: r.id!,
          name: r.name,
          stage: r.stage,
          state: r.state,
          ownerId: r.owner_id,
          currency: r.currency,
          amount: r.amount,
          closingDate: r.closing_date,
          zohoUrl: zohoDealUrl(ctx.org, r.id!),
        })),
    }
  }
  return out
}
