import { z } from 'zod'
import { decimal, filtersSchema, periodOut, periodSchema, ratio, type EndpointDoc } from './common'

export const funnelQuery = filtersSchema.extend(periodSchema.shape)

export const funnelResponse = z.object({
  period: periodOut,
  /** Deals created in P (Created_Time as a date in the org's time zone). */
  cohort: z.number().int(),
  steps: z.array(
    z.object({
      stage: z.string(),
      /** Deals that reached this stage or a later one (won deals reached every stage). */
      reached: z.number().int(),
      /** reached(next) ÷ reached(this); for the last stage, won ÷ reached. */
      conversionToNext: ratio,
    }),
  ),
  won: z.number().int(),
  lost: z.number().int(),
  winRate: ratio.describe('won ÷ (won + lost) among the cohort, by count (open deals are undecided)'),
})
export type FunnelResponse = z.infer<typeof funnelResponse>

export const timeInStageQuery = funnelQuery
export const timeInStageResponse = z.object({
  period: periodOut,
  stages: z.array(
    z.object({
      stage: z.string(),
      /** Deals that left the stage in P, and their mean (calendar, org time zone) days in it. */
      left: z.object({ count: z.number().int(), averageDays: z.number().nullable() }),
      /** Open deals in the stage now, and their mean days in it so far. */
      current: z.object({ count: z.number().int(), averageDaysSoFar: z.number().nullable() }),
    }),
  ),
})
export type TimeInStageResponse = z.infer<typeof timeInStageResponse>

export const velocityQuery = funnelQuery
export const velocityResponse = z.object({
  currency: z.string(),
  period: periodOut,
  openDeals: z.number().int(),
  averageDealSize: decimal.nullable(),
  winRate: ratio,
  salesCycleDays: z.number().nullable(),
  /** Open deals × average deal size × win rate ÷ sales cycle days: expected won amount per day. */
  velocityPerDay: decimal.nullable(),
})
export type VelocityResponse = z.infer<typeof velocityResponse>

export const funnelEndpoints: EndpointDoc[] = [
  {
    method: 'get',
    path: '/funnel',
    tag: 'Stages',
    summary: 'Stage conversion funnel for deals created in P, in pipeline order',
    query: funnelQuery,
    response: funnelResponse,
  },
  {
    method: 'get',
    path: '/time-in-stage',
    tag: 'Stages',
    summary: 'Mean days in each stage over deals that left it in P, and days so far for open deals',
    query: timeInStageQuery,
    response: timeInStageResponse,
  },
  {
    method: 'get',
    path: '/velocity',
    tag: 'Stages',
    summary: 'Sales velocity for P from open deals, average won deal size, win rate and cycle length',
    query: velocityQuery,
    response: velocityResponse,
  },
]
