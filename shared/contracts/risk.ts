import { z } from 'zod'
import { decimal, filtersSchema, isoDate, type EndpointDoc } from './common'

export const RISK_REASONS = ['stuck', 'overdue', 'slipping', 'quiet'] as const

export const riskQuery = filtersSchema.extend({
  reason: z.enum(RISK_REASONS).optional().describe('Only deals with this reason'),
  dealId: z
    .string()
    .regex(/^\d{1,25}$/, 'must be a numeric Zoho id')
    .optional()
    .describe("Only this deal (a Deal's page): its flags wherever it ranks; none outside your scope"),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
})

export const riskDeal = z.object({
  id: z.string(),
  name: z.string(),
  stage: z.string(),
  ownerId: z.string().nullable(),
  ownerName: z.string().nullable(),
  amountSgd: decimal.nullable(),
  closingDate: isoDate.nullable(),
  daysInStage: z.number().int(),
  daysInStageUpTo: z
    .boolean()
    .describe(
      "daysInStage counts from the deal's creation because its Stage_History is not read (not yet, or Zoho " +
        'CRM does not give it): the deal may have entered its stage later, so it is an upper bound',
    ),
  daysInStageAtLeast: z
    .boolean()
    .describe(
      'daysInStage counts from a stage change our sync saw while the Stage_History is not read: the ' +
        'deal may have entered its stage earlier, so it is a lower bound (a stuck flag on it holds)',
    ),
  zohoUrl: z.string(),
  reasons: z.array(
    z.object({
      code: z.enum(RISK_REASONS),
      message: z.string(),
      provisional: z
        .boolean()
        .describe('A stuck flag on an upper bound of the days in stage (daysInStageUpTo): it may not hold'),
    }),
  ),
})

export const riskResponse = z.object({
  currency: z.string(),
  today: isoDate,
  counts: z.object({
    total: z.number().int(),
    stuck: z.number().int(),
    stuckUpTo: z.number().int().describe('Of the stuck deals, those whose stuck flag is provisional'),
    overdue: z.number().int(),
    slipping: z.number().int(),
    quiet: z.number().int(),
  }),
  amount: decimal.describe('Open amount of the deals at risk'),
  quietDays: z.number().int(),
  thresholds: z.array(
    z.object({ stage: z.string(), days: z.number(), source: z.enum(['setting', 'default']) }),
  ),
  deals: z.array(riskDeal),
})
export type RiskResponse = z.infer<typeof riskResponse>

export const riskEndpoints: EndpointDoc[] = [
  {
    method: 'get',
    path: '/risk',
    tag: 'Risk',
    summary: 'Open deals that are stuck, overdue, slipping or quiet, each with its reasons',
    description:
      'Stuck: days in the current stage above the stage threshold (setting; default twice the median days ' +
      "won deals spent in that stage, at least 14); while a deal's Stage_History is not read its days count " +
      'from its creation, so its stuck flag is provisional ("up to N days"). Overdue: closing date before today. Slipping: closing date ' +
      "moved later more than twice (the sync's count or the daily snapshots, whichever saw more). Quiet: " +
      'no Last_Activity_Time for quietDays (default 30); a deal with no activity at all counts from its creation.',
    query: riskQuery,
    response: riskResponse,
  },
]
