import { z } from 'zod'

/*
 * Building blocks shared by every analytics contract. Query strings arrive as strings: lists are
 * comma-separated (owner=1,2), dates are YYYY-MM-DD (calendar dates in the org's time zone).
 */

/** A calendar date in a response (any valid YYYY-MM-DD: a deal's closing date is Zoho's to set). */
export const isoDate = z.iso.date()

/** Bounds of dateParam; a default or a bucket end computed from one stays inside PostgreSQL's range. */
export const MIN_DATE = '1900-01-01'
export const MAX_DATE = '9998-12-31'

/**
 * A calendar date a client sends: YYYY-MM-DD within MIN_DATE..MAX_DATE. z.iso.date() alone passes
 * year 0000, which PostgreSQL rejects (a 500), and 9999-12-31, one month short of where bucket and
 * "day after" arithmetic overflows into a five-digit year; no pipeline question needs either end.
 */
export const dateParam = isoDate.refine((d) => d >= MIN_DATE && d <= MAX_DATE, {
  message: `must be a date from ${MIN_DATE} to ${MAX_DATE}`,
})
/**
 * An exact decimal amount in the base currency, e.g. "1234.50" (never a JS number); figures carry the
 * base currency's minor-unit digits: "1234.50" SGD, "1234" JPY, "1234.500" KWD.
 */
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
  closeFrom: dateParam.optional().describe('Closing date on or after'),
  closeTo: dateParam.optional().describe('Closing date on or before'),
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

/**
 * A period P: a closed range of dates; both ends default to the current fiscal quarter (a lone bound
 * beyond it: the fiscal quarter around that bound).
 */
export const periodSchema = z.object({
  from: dateParam
    .optional()
    .describe(
      "First day of the period P (default: start of the current fiscal quarter, or of a lone `to`'s quarter when that is earlier)",
    ),
  to: dateParam
    .optional()
    .describe(
      "Last day of the period P (default: end of the current fiscal quarter, or of a lone `from`'s quarter when that is later)",
    ),
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
