import { z } from 'zod'
import {
  countAmount,
  countAmountWeighted,
  dateParam,
  decimal,
  filtersSchema,
  isoDate,
  periodOut,
  periodSchema,
  ratio,
  type EndpointDoc,
} from './common'

export const summaryQuery = filtersSchema.extend(periodSchema.shape).extend({
  asOf: dateParam.optional().describe('Answer from the daily snapshot of this day'),
})
export type SummaryQuery = z.infer<typeof summaryQuery>

export const stageRow = countAmountWeighted.extend({ stage: z.string() })

export const summaryResponse = z.object({
  currency: z.string(),
  open: countAmountWeighted,
  won: countAmount,
  lost: countAmount,
  /** Open deals by stage, in pipeline order, by display value. */
  byStage: z.array(stageRow),
  /** Deals counted above (open, won or lost in P) that have no SGD value: in counts, never in amounts. */
  unpriced: z.object({ count: z.number().int() }),
  /** Last successful sync time (ISO), or the snapshot day when answering "as of". */
  asOf: z.string().nullable(),
  snapshotDay: isoDate.nullable(),
  period: periodOut,
  winRate: z.object({ count: ratio, amount: ratio }),
  averageDealSize: decimal.nullable(),
  salesCycleDays: z.number().nullable(),
})
export type SummaryResponse = z.infer<typeof summaryResponse>

export const byStageQuery = filtersSchema.extend(periodSchema.shape)
export const byStageResponse = z.object({
  currency: z.string(),
  period: periodOut,
  stages: z.array(
    stageRow.extend({
      state: z.enum(['open', 'won', 'lost', 'unknown']),
      probability: z.number().int().nullable(),
      forecastCategory: z.string().nullable(),
    }),
  ),
})

export const byOwnerQuery = filtersSchema.extend(periodSchema.shape)
export const ownerRow = z.object({
  ownerId: z.string(),
  ownerName: z.string().nullable(),
  open: countAmountWeighted,
  won: countAmount,
  lost: countAmount,
  winRate: ratio,
  /** Sum of the owner's targets for periods inside P, when any exist. */
  target: decimal.nullable(),
  /** Won amount ÷ target. */
  attainment: ratio,
})
export const byOwnerResponse = z.object({
  currency: z.string(),
  period: periodOut,
  owners: z.array(ownerRow),
})

export const pipelineEndpoints: EndpointDoc[] = [
  {
    method: 'get',
    path: '/pipeline/summary',
    tag: 'Pipeline',
    summary: 'Open, won and lost figures, by stage, win rate, deal size and cycle for a period',
    description:
      'Open pipeline: open deals (any closing date unless filtered). Won/lost: closing date in P. ' +
      "Unpriced deals count in counts, never in amounts. asOf=YYYY-MM-DD answers from that day's snapshot.",
    query: summaryQuery,
    response: summaryResponse,
  },
  {
    method: 'get',
    path: '/pipeline/by-stage',
    tag: 'Pipeline',
    summary: 'Every stage in pipeline order: open deals, and won/lost deals closed in P',
    query: byStageQuery,
    response: byStageResponse,
  },
  {
    method: 'get',
    path: '/pipeline/by-owner',
    tag: 'Pipeline',
    summary: 'Leaderboard: per owner open, won and lost in P, win rate and quota attainment',
    query: byOwnerQuery,
    response: byOwnerResponse,
  },
]
