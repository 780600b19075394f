import { z } from 'zod'
import { dateParam, decimal, filtersSchema, isoDate, type EndpointDoc } from './common'

export const WATERFALL_BUCKETS = [
  'Created',
  'Pulled in',
  'Increased',
  'Decreased',
  'Won',
  'Lost',
  'Pushed out',
  'Pulled out',
] as const

export const WATERFALL_RULE =
  'Compare the snapshot of A (S1) with the snapshot of B (S2). A deal is in at S1 when it is open and its ' +
  'closing date is in T; likewise at S2. In at S1 and at S2: Increased or Decreased by (amount at S2 − amount ' +
  'at S1). In at S1, not at S2: first Increased/Decreased by the change in amount, then leaves with its S2 ' +
  'amount as Won (won at S2), Lost (lost or deleted at S2), Pushed out (still open, closing date after T) or ' +
  'Pulled out (still open, closing date before T). Not in at S1, in at S2: enters with its S2 amount as ' +
  'Created (created after A) or Pulled in (existed at S1). In at neither but entering and leaving between A ' +
  'and B: it enters and leaves (e.g. Created and Won). Start + Created + Pulled in + Increased − Decreased − ' +
  'Pushed out − Pulled out − Won − Lost = End, exactly.'

export const waterfallQuery = filtersSchema.extend({
  from: dateParam.describe('Day A (a snapshotted day)'),
  to: dateParam.describe('Day B (a snapshotted day, on or after A)'),
  limit: z.coerce.number().int().min(0).max(1000).default(100).describe('Deals listed per bucket'),
})

export const waterfallDeal = z.object({
  id: z.string(),
  name: z.string().nullable(),
  amount: decimal,
})

export const waterfallBucket = z.object({
  bucket: z.enum(WATERFALL_BUCKETS),
  sign: z.enum(['+', '-']),
  count: z.number().int(),
  amount: decimal,
  deals: z.array(waterfallDeal),
})

export const waterfallResponse = z.object({
  currency: z.string(),
  from: isoDate,
  to: isoDate,
  window: z.object({ from: isoDate, to: isoDate }),
  start: z.object({ count: z.number().int(), amount: decimal }),
  end: z.object({ count: z.number().int(), amount: decimal }),
  buckets: z.array(waterfallBucket),
  rule: z.string(),
  balance: z.object({
    expression: z.string(),
    computedEnd: decimal,
    end: decimal,
    holds: z.boolean(),
  }),
})
export type WaterfallResponse = z.infer<typeof waterfallResponse>

export const waterfallEndpoints: EndpointDoc[] = [
  {
    method: 'get',
    path: '/waterfall',
    tag: 'Waterfall',
    summary: 'Pipeline waterfall from day A to day B for the closing-date window T (closeFrom..closeTo)',
    description:
      WATERFALL_RULE + ' T defaults to the current fiscal quarter. Unpriced deals move with amount 0.',
    query: waterfallQuery,
    response: waterfallResponse,
  },
]
