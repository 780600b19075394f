import { z } from 'zod'

/*
 * Building blocks shared by every analytics contract. Query strings arrive as strings: lists are
 * comma-separated (owner=1,2), dates are YYYY-MM-DD (calendar dates in the org's time zone).
 */

export const isoDate = z.iso.date()
/** An exact decimal amount in the base currency, e.g. "1234.50" (never a JS number). */
export const decimal = z.string().regex(/^-?\d+(\.\d+)?$/)
/** A ratio 0..1 as an exact decimal string with 4 places, or null when undefined (0 ÷ 0). */
export const ratio = decimal.nullable()

const list = (item: z.ZodString) =>
  z
    .string()
    .min(1)
    .transform((v) => v.split(',').map((s) => s.trim()))
    .pipe(z.array(item).min(1).max(200))

const id = z.string().regex(/^\d{1,25}$/, 'must be a numeric Zoho id')

/** Filters every analytics endpoint accepts. */
export const filtersSchema = z.object({
  closeFrom: isoDate.optional().describe('Closing date on or after'),
  closeTo: isoDate.optional().describe('Closing date on or before'),
  owner: list(id).optional().describe('Owner user ids, comma-separated (must be within your scope)'),
  team: id.optional().describe('Role id: owners in that role and the roles below it, within your scope'),
  pipeline: z.string().min(1).max(200).optional(),
  stage: list(z.string().min(1).max(200)).optional().describe('Stage display values, comma-separated'),
  currency: list(z.string().regex(/^[A-Z]{3}$/))
    .optional()
    .describe('Deal currencies, comma-separated'),
  territory: z.string().min(1).max(200).optional(),
})
export type Filters = z.infer<typeof filtersSchema>

/** A period P: a closed range of dates; both ends default to the current fiscal quarter. */
export const periodSchema = z.object({
  from: isoDate.optional().describe('First day of the period P (default: start of the fiscal quarter)'),
  to: isoDate.optional().describe('Last day of the period P (default: end of the fiscal quarter)'),
})

export const countAmount = z.object({ count: z.number().int(), amount: decimal })
export const countAmountWeighted = countAmount.extend({ weighted: decimal })

export const periodOut = z.object({ from: isoDate, to: isoDate })

export const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), requestId: z.string() }),
})

/** One documented endpoint: the OpenAPI document is generated from these. */
export interface EndpointDoc {
  method: 'get' | 'put' | 'post' | 'delete'
  path: string
  summary: string
  description?: string
  tag: string
  query?: z.ZodObject
  params?: z.ZodObject
  body?: z.ZodType
  response?: z.ZodType
  /** Non-JSON responses, e.g. text/csv. */
  contentType?: string
  roles?: string[]
}
