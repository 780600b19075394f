import { z } from 'zod'
import {
  countAmountWeighted,
  decimal,
  filtersSchema,
  isoDate,
  periodSchema,
  ratio,
  type EndpointDoc,
} from './common'

/** Zoho's forecast categories, in the order a forecast reads. */
export const FORECAST_CATEGORIES = ['Pipeline', 'Best Case', 'Commit', 'Closed', 'Omitted'] as const

export const forecastQuery = filtersSchema.extend({
  from: periodSchema.shape.from.describe(
    "First day (default: start of the current fiscal year, or of a lone `to`'s fiscal year when that is earlier)",
  ),
  to: periodSchema.shape.to.describe(
    "Last day (default: end of the current fiscal year, or of a lone `from`'s fiscal year when that is later)",
  ),
  period: z
    .enum(['month', 'quarter'])
    .default('quarter')
    .describe('Bucket size (fiscal quarters follow the org)'),
})

const categoryRow = countAmountWeighted.extend({ category: z.string() })

export const forecastBucket = z.object({
  key: z
    .string()
    .describe('YYYY-MM for months, "FY2026 Q1" for fiscal quarters (FY named by its start year)'),
  from: isoDate.describe("First day counted: the bucket's first day, or the range's from when later"),
  to: isoDate.describe("Last day counted: the bucket's last day, or the range's to when earlier"),
  categories: z.array(categoryRow),
  total: countAmountWeighted,
  /** Sum of targets inside the bucket, when any exist. */
  target: decimal.nullable(),
  /** Open amount ÷ (target − won amount), when a target exists and is not yet met. */
  coverage: ratio,
})

export const forecastResponse = z.object({
  currency: z.string(),
  period: z.enum(['month', 'quarter']),
  from: isoDate,
  to: isoDate,
  buckets: z.array(forecastBucket),
})
export type ForecastResponse = z.infer<typeof forecastResponse>

export const forecastEndpoints: EndpointDoc[] = [
  {
    method: 'get',
    path: '/forecast',
    tag: 'Forecast',
    summary: 'Forecast per month or fiscal quarter by forecast category',
    description:
      'For each bucket: open deals with closing date in it, by their stage forecast category, plus won deals ' +
      'closed in it as Closed. Weighted and unweighted. Default range: the current fiscal year (a lone from or ' +
      'to beyond it: the fiscal year around it). A range needing more than 240 buckets is refused (400 ' +
      'RANGE_TOO_LARGE).',
    query: forecastQuery,
    response: forecastResponse,
  },
]
