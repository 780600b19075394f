import { sql } from 'drizzle-orm'
import { query } from '../db/client'
import type { Filters } from '#shared/contracts/common'
import { FORECAST_CATEGORIES, type ForecastResponse } from '#shared/contracts/forecast'
import { filterConditions, ownerConditions, type AnalyticsContext } from './context'
import { addDecimals, money, ratio, subtractDecimals } from './decimal'
import { badRequest } from '../http/errors'
import { buckets, fiscalYear, MAX_BUCKETS, periodInverted, periodWithin, type Period } from './period'
import { rollupConditions, wholeMonths } from './rollup'

interface Row {
  bucket: number
  category: string
  count: number
  amount: string | null
  weighted100: string | null
}

/**
 * Forecast for each bucket B (METRICS "Forecast for P"): open deals closing in B by forecast
 * category, plus won deals closed in B as Closed. Open deals whose stage has no category are
 * reported as "Uncategorized" rather than silently moved into one.
 */
export async function forecast(
  ctx: AnalyticsContext,
  filters: Filters,
  size: 'month' | 'quarter',
  range: { from?: string; to?: string },
): Promise<ForecastResponse> {
  // The current fiscal year by default; a lone bound beyond it, the fiscal year around that bound.
  const fyStart = ctx.org.fiscalYearStartMonth
  const p: Period = periodWithin(range, fiscalYear(ctx.today, fyStart), (d) => fiscalYear(d, fyStart))
  if (p.from > p.to) throw periodInverted(p)
  const bs = buckets(p, size, ctx.org.fiscalYearStartMonth)
  // Refused rather than cut short: a shortened range would report a `to` it did not cover, and
  // width_bucket would pile every later deal into the last bucket.
  if (bs.length > MAX_BUCKETS)
    throw badRequest(
      `from..to spans more than ${MAX_BUCKETS} ${size === 'month' ? 'months' : 'quarters'}; choose a shorter range`,
      'RANGE_TOO_LARGE',
    )
  // Buckets are whole months, so the month rollup answers a range of whole months exactly.
  const rolled = wholeMonths(p) ? await rollupConditions(ctx, filters, 'd') : null
  const where = rolled ?? (await filterConditions(ctx, filters, 'd'))
  // Bucket index = position among the sorted bucket starts (dates we generated, safe to inline).
  const thresholds = sql.raw(`array[${bs.map((b) => `date '${b.from}'`).join(',')}]`)
  const category = sql`case when d.state = 'won' then 'Closed' else coalesce(d.forecast_category, 'Uncategorized') end`
  const rows = await query<Row>(
    ctx.db,
    rolled
      ? sql`select width_bucket(d.close_month, ${thresholds}) as bucket, ${category} as category,
                   sum(d.deal_count)::int as count, sum(d.amount_sgd) as amount, sum(d.weighted100) as weighted100
            from deal_month_rollup d
            where ${where} and d.state in ('open', 'won') and d.close_month between ${p.from} and ${p.to}
            group by 1, 2`
      : sql`select width_bucket(d.closing_date, ${thresholds}) as bucket, ${category} as category,
                   count(*)::int as count, sum(d.amount_sgd) as amount,
                   sum(d.amount_sgd * coalesce(d.effective_probability, 0)) as weighted100
            from deals d
            where ${where} and d.state in ('open', 'won') and d.closing_date between ${p.from} and ${p.to}
            group by 1, 2`,
  )
  // Targets per bucket (the contract: the sum of targets whose whole period lies inside the bucket,
  // so a quarterly target is in no month), for the same owners as the deals: scope, owner and team.
  const ends = sql.raw(`array[${bs.map((b) => `date '${b.to}'`).join(',')}]`)
  const owners = await ownerConditions(ctx, filters, 't')
  const targets = await query<{ bucket: number; target: string }>(
    ctx.db,
    sql`select b.i::int as bucket, sum(t.amount) as target
        from unnest(${thresholds}, ${ends}) with ordinality as b(first_day, last_day, i)
        join sales_targets t on t.period_start >= b.first_day and t.period_end <= b.last_day
        where ${sql.join(owners, sql` and `)}
        group by b.i`,
  )
  return {
    currency: ctx.org.baseCurrency,
    period: size,
    from: p.from,
    to: p.to,
    buckets: bs.map((b, i) => {
      const mine = rows.filter((r) => r.bucket === i + 1)
      const extra = [...new Set(mine.map((r) => r.category))].filter(
        (c) => !(FORECAST_CATEGORIES as readonly string[]).includes(c),
      )
      const categories = [...FORECAST_CATEGORIES, ...extra].map((category) => {
        const r = mine.filter((m) => m.category === category)
        const amount = addDecimals('0', ...r.map((x) => x.amount ?? '0'))
        const weighted100 = addDecimals('0', ...r.map((x) => x.weighted100 ?? '0'))
        return {
          category,
          count: r.reduce((n, x) => n + x.count, 0),
          amount: money(amount, ctx.org.baseCurrency),
          weighted: money(weighted100, ctx.org.baseCurrency, 100n),
        }
      })
      const exactAmount = addDecimals('0', ...mine.map((x) => x.amount ?? '0'))
      const exactWeighted = addDecimals('0', ...mine.map((x) => x.weighted100 ?? '0'))
      const target = targets.find((t) => t.bucket === i + 1)?.target ?? null
      const won = addDecimals('0', ...mine.filter((m) => m.category === 'Closed').map((m) => m.amount ?? '0'))
      const open = addDecimals(
        '0',
        ...mine.filter((m) => m.category !== 'Closed').map((m) => m.amount ?? '0'),
      )
      const gap = target === null ? null : subtractDecimals(target, won)
      return {
        key: b.key,
        from: b.from,
        to: b.to,
        categories,
        total: {
          count: mine.reduce((n, x) => n + x.count, 0),
          amount: money(exactAmount, ctx.org.baseCurrency),
          weighted: money(exactWeighted, ctx.org.baseCurrency, 100n),
        },
        target: target === null ? null : money(target, ctx.org.baseCurrency),
        coverage: gap === null || gap.startsWith('-') || /^0(\.0*)?$/.test(gap) ? null : ratio(open, gap),
      }
    }),
  }
}
