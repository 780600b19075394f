import type { Filters } from '#shared/contracts/common'
import type { VelocityResponse } from '#shared/contracts/funnel'
import type { AnalyticsContext } from './context'
import { currencyExponent, decimalToString } from '#shared/money'
import { divHalfEven, divRound, money, ratio, toUnits } from './decimal'
import type { Period } from './period'
import { liveHeadline } from './summary'

/**
 * Sales velocity for P = open deals × average won deal size × win rate ÷ sales cycle days, each
 * factor as defined in METRICS, computed as one exact fraction and rounded half-even once to the base
 * currency's minor unit.
 */
export async function velocity(
  ctx: AnalyticsContext,
  filters: Filters,
  period: Period,
): Promise<VelocityResponse> {
  const r = await liveHeadline(ctx, filters, period)
  const decided = r.won_count + r.lost_count
  const cycle = r.cycle_days ?? 0
  let perDay: string | null = null
  if (r.won_priced && decided && cycle > 0) {
    // open × (wonAmount ÷ wonPriced) × (won ÷ decided) ÷ (cycle ÷ wonCount), in the base currency's
    // minor units (a sum of amounts at that scale: exact).
    const exp = currencyExponent(ctx.org.baseCurrency)
    const wonUnits = toUnits(r.won_amount ?? '0', exp)
    const num = BigInt(r.open_count) * wonUnits * BigInt(r.won_count) * BigInt(r.won_count)
    const den = BigInt(r.won_priced) * BigInt(decided) * BigInt(cycle)
    perDay = decimalToString({ units: divHalfEven(num, den), scale: exp })
  }
  return {
    currency: ctx.org.baseCurrency,
    period,
    openDeals: r.open_count,
    averageDealSize: r.won_priced ? money(r.won_amount, ctx.org.baseCurrency, BigInt(r.won_priced)) : null,
    winRate: ratio(r.won_count, decided),
    salesCycleDays: r.won_count ? Number(divRound(String(cycle), BigInt(r.won_count), 1)) : null,
    velocityPerDay: perDay,
  }
}
