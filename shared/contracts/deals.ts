import { z } from 'zod'
import { decimal, filtersSchema, isoDate, type EndpointDoc } from './common'

export const DEAL_SORTS = ['closingDate', 'amount', 'name', 'stage', 'modified'] as const

export const dealsQuery = filtersSchema.extend({
  state: z.enum(['open', 'won', 'lost', 'unknown']).optional(),
  q: z.string().min(1).max(200).optional().describe('Name contains (case-insensitive)'),
  sort: z.enum(DEAL_SORTS).default('closingDate'),
  dir: z.enum(['asc', 'desc']).default('asc'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(1000).optional().describe('Opaque: nextCursor of the previous page'),
})
export type DealsQuery = z.infer<typeof dealsQuery>

export const dealRow = z.object({
  id: z.string(),
  name: z.string(),
  stage: z.string(),
  state: z.enum(['open', 'won', 'lost', 'unknown']),
  ownerId: z.string().nullable(),
  ownerName: z.string().nullable(),
  accountName: z.string().nullable(),
  pipeline: z.string().nullable(),
  territory: z.string().nullable(),
  currency: z.string(),
  /** In the deal's own currency; null when Zoho has no Amount. */
  amount: decimal.nullable(),
  /** Null when the deal is unpriced. */
  amountSgd: decimal.nullable(),
  weightedSgd: decimal.nullable(),
  probability: z.number().int().nullable(),
  closingDate: isoDate.nullable(),
  modifiedTime: z.string(),
  /** `${crmHost}/crm/${domain_name or "org" + org id}/tab/Potentials/${id}` (crmHost per Zoho DC). */
  zohoUrl: z.string(),
})
export type DealRow = z.infer<typeof dealRow>

/** The org's base (reporting) currency: amountSgd and weightedSgd are in it, whatever their names say. */
const baseCurrency = z.string().describe("The org's base currency, the currency of amountSgd and weightedSgd")

export const dealsResponse = z.object({
  baseCurrency,
  deals: z.array(dealRow),
  nextCursor: z.string().nullable(),
})
export type DealsResponse = z.infer<typeof dealsResponse>

export const dealParams = z.object({ id: z.string().regex(/^\d{1,25}$/, 'must be a numeric Zoho id') })

export const stageHistoryRow = z.object({
  stage: z.string(),
  enteredAt: z.string(),
  leftAt: z.string().nullable(),
  days: z
    .number()
    .nullable()
    .describe("Calendar days in the stage in the org's time zone (to today for the current one)"),
  amount: decimal.nullable(),
  probability: z.number().int().nullable(),
  closingDate: isoDate.nullable(),
  source: z.string(),
})

export const dealDetail = dealRow.extend({
  baseCurrency,
  createdTime: z.string(),
  lastActivityTime: z.string().nullable(),
  stageEnteredAt: z.string().nullable(),
  /** Calendar days in the current stage in the org's time zone, as the risk list counts them. */
  daysInStage: z.number().nullable(),
  closingPushCount: z.number().int(),
  fx: z.object({
    /** Base-currency (baseCurrency) units per one unit of the deal currency, exactly as used. */
    rate: decimal.nullable(),
    /** The rate set's date (the Monday of its week). */
    date: isoDate.nullable(),
    source: z.enum(['identity', 'provider', 'provider_nearest', 'zoho']).nullable(),
    estimated: z.boolean(),
    zohoExchangeRate: decimal.nullable(),
  }),
  /** One entry per stay in a stage (a history row repeating the stage does not start one), by display value. */
  stageHistory: z.array(stageHistoryRow),
  historyPending: z
    .boolean()
    .describe(
      "The deal's Stage_History has not been read from Zoho CRM yet (a later sync will): stageHistory " +
        'holds only the stage changes our sync saw, and daysInStage may count from createdTime',
    ),
  historyUnavailable: z
    .boolean()
    .describe(
      "Zoho CRM refused this org's Stage_History the last time a sync asked (the related list hidden or " +
        "not permitted), so no sync will read this deal's: stageHistory holds only the stage changes our " +
        'sync saw, and daysInStage may count from createdTime. historyPending is false then',
    ),
})
export type DealDetail = z.infer<typeof dealDetail>

export const exportQuery = dealsQuery.omit({ sort: true, dir: true, limit: true, cursor: true })

export const EXPORT_COLUMNS = [
  'id',
  'name',
  'stage',
  'state',
  'owner_id',
  'owner_name',
  'pipeline',
  'currency',
  'amount',
  'amount_sgd',
  'probability',
  'weighted_sgd',
  'fx_rate',
  'fx_date',
  'fx_source',
  'closing_date',
  'zoho_url',
] as const

export const dealsEndpoints: EndpointDoc[] = [
  {
    method: 'get',
    path: '/deals',
    tag: 'Deals',
    summary: 'Deals in scope with filters, sorting and keyset cursor pagination',
    query: dealsQuery,
    response: dealsResponse,
  },
  {
    method: 'get',
    path: '/deals/{id}',
    tag: 'Deals',
    summary: 'One deal with its stage history and FX provenance (404 outside your scope)',
    params: dealParams,
    response: dealDetail,
  },
  {
    method: 'get',
    path: '/exports/deals.csv',
    tag: 'Deals',
    summary: 'CSV export of the deals in scope (streamed, audit-logged)',
    description:
      `Columns: ${EXPORT_COLUMNS.join(', ')}; the _sgd columns are in the org's base currency and ` +
      'named after it (amount_usd for a USD org). UTF-8 with a BOM (for Excel), RFC 4180 quoting, CRLF ' +
      'line ends; dates YYYY-MM-DD; text starting with = + - @ (or full-width ＝ ＋ － ＠), tab or CR is ' +
      "prefixed with ' so spreadsheets keep it as text. zoho_url links each deal's record in Zoho CRM: " +
      'Excel shows the 19-digit id as a rounded number (4.33E+18), the link keeps it whole.',
    query: exportQuery,
    contentType: 'text/csv',
  },
]
