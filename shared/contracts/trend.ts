import { z } from 'zod'
import { dateParam, decimal, filtersSchema, isoDate, type EndpointDoc } from './common'

export const trendQuery = filtersSchema.extend({
  from: dateParam
    .optional()
    .describe('First day (default: 90 days before `to`, so the last 90 days of snapshots by default)'),
  to: dateParam
    .optional()
    .describe(
      'Last day (default: the newest snapshot day, or today before the first; a later `from` alone: that day)',
    ),
})

export const trendPoint = z.object({
  day: isoDate,
  count: z.number().int(),
  amount: decimal,
  weighted: decimal,
  unpriced: z.number().int(),
})

export const trendResponse = z.object({
  currency: z.string(),
  from: isoDate,
  to: isoDate,
  /** One point per snapshotted day in [from, to]; days without a snapshot are left out. */
  points: z.array(trendPoint),
})
export type TrendResponse = z.infer<typeof trendResponse>

export const trendEndpoints: EndpointDoc[] = [
  {
    method: 'get',
    path: '/trend',
    tag: 'Trend',
    summary: 'Open pipeline (count, amount, weighted) per day from the daily snapshots',
    query: trendQuery,
    response: trendResponse,
  },
]
