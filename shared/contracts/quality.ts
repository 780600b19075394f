import { z } from 'zod'
import { decimal, filtersSchema, isoDate, type EndpointDoc } from './common'

export const QUALITY_ISSUES = ['unpriced', 'pastDue', 'missingAmount', 'unknownStage'] as const

export const qualityQuery = filtersSchema.extend({
  limit: z.coerce.number().int().min(0).max(1000).default(100).describe('Deals listed per issue'),
})

export const qualityDeal = z.object({
  id: z.string(),
  name: z.string(),
  stage: z.string(),
  state: z.string(),
  ownerId: z.string().nullable(),
  currency: z.string(),
  amount: decimal.nullable(),
  closingDate: isoDate.nullable(),
  zohoUrl: z.string(),
})

const issue = z.object({ count: z.number().int(), deals: z.array(qualityDeal) })

export const qualityResponse = z.object({
  today: isoDate,
  /** No SGD value: no rate for the currency and no usable Zoho Exchange_Rate. Counted, never summed. */
  unpriced: issue,
  /** Open deals whose closing date is before today. */
  pastDue: issue,
  /** Deals without an Amount (they count as 0). */
  missingAmount: issue,
  /** Deals whose Stage is not in the Stage picklist (neither display nor actual value). */
  unknownStage: issue,
})
export type QualityResponse = z.infer<typeof qualityResponse>

export const qualityEndpoints: EndpointDoc[] = [
  {
    method: 'get',
    path: '/quality',
    tag: 'Data quality',
    summary: 'Unpriced deals, open deals past their closing date, missing amounts, unknown stages',
    query: qualityQuery,
    response: qualityResponse,
  },
]
