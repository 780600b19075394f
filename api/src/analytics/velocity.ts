import type { Filters } from '#shared/contracts/common'
import type { VelocityResponse } from '#shared/contracts/funnel'
import { filterConditions, type AnalyticsContext } from './context'
import { decimalToString } from '#shared/money'
import { divHalfEven, divRound, ratio, toUnits } from './decimal'
import type { Period } from './period'
import { dealSource } from './source'
import { headline } from './summary'

/**
 * Sales velocity for P = open deals × average won deal size × win rate ÷ sales cycle days, each
 * factor as defined in METRICS, computed as one exact fraction and rounded half-even to the cent once.
 */
export async function velocity(
  ctx: AnalyticsContext,
  filters: Filters,
  period: Period,
): Promise<VelocityResponse> {
  const where = await filterConditions(ctx, filters, 'd')
  const r = await headline(ctx, where, dealSource(ctx), period)
  const decided = r.won_count + r.lost_count
  const cycle = r.cycle_days ?? 0
  let perDay: string | null = null
  if (r.won_priced && decided && cycle > 0) {
    // open × (wonAmount ÷ wonPriced) × (won ÷ decided) ÷ (cycle ÷ wonCount), in cents.
    const wonCents = toUnits(r.won_amount ?? '0', 2)
    const num = BigInt(r.open_count) * wonCents * BigInt(r.won_count) * BigInt(r.won_count)
    const den = BigInt(r.won_priced) * BigInt(decided) * BigInt(cycle)
    perDay = decimalToString({ units: divHalfEven(num, den), scale: 2 })
  }
  return {
    currency: ctx.org.baseCurrency,
    period,
    openDeals: r.open_count,
    averageDealSize: r.won_priced ? divRound(r.won_amount, BigInt(r.won_priced)) : null,
    winRate: ratio(r.won_count, decided),
    salesCycleDays: r.won_count ? Number(divRound(String(cycle), BigInt(r.won_count), 1)) : null,
    velocityPerDay: perDay,
  }
}
