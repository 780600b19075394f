import { z } from 'zod'
import type {
  ZohoCurrency,
  ZohoDealRecord,
  ZohoDeletedRecord,
  ZohoLayout,
  ZohoLookup,
  ZohoOrg,
  ZohoPageInfo,
  ZohoPipeline,
  ZohoProfile,
  ZohoRole,
  ZohoStageHistoryRow,
  ZohoStagePicklistValue,
  ZohoUser,
} from './types'

/**
 * zod for every Zoho response body the client reads. Bodies are parsed with parseZohoJson first, so
 * money arrives as exact decimal strings. Objects are loose: fields we do not name pass through
 * untouched (custom fields, `$` metadata), so the raw record survives for re-processing.
 */

export { parseZohoJson, MONEY_KEYS } from './json'

/** Zoho ids: strings (≈19 digits, beyond 2^53). */
export const zohoId = z.string().min(1)

const DECIMAL = /^-?\d+(\.\d+)?$/
/**
 * Exact decimal string. A JS number is accepted only when it is a safe integer (a body parsed
 * without parseZohoJson); any fractional number may already have been rounded, so it is refused.
 */
export const zohoMoney = z.union([
  z.string().regex(DECIMAL, 'must be a decimal number'),
  z
    .number()
    .refine(Number.isSafeInteger, 'money must be parsed losslessly (use parseZohoJson)')
    .transform((n) => String(n)),
])

/** ISO 8601 with its offset kept as Zoho sent it (e.g. 2024-06-05T02:04:09-07:00). */
export const zohoDateTime = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/,
    'must be ISO 8601 with an offset',
  )

/** A plain date (Closing_Date): never converted. */
export const zohoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD')

/**
 * Missing (not requested) and null (empty) both become null for the typed fields. A default, not a
 * transform: zod returns it for undefined without a pipe per field.
 */
const nullish = <T extends z.ZodType>(t: T) => t.nullable().default(null)

const intLike = z.union([z.number(), z.string().regex(DECIMAL).transform(Number)])

export const lookupSchema = z.looseObject({
  id: zohoId,
  name: nullish(z.string()),
  email: z.string().nullish(),
}) satisfies z.ZodType<ZohoLookup, unknown>

export const pageInfoSchema = z.looseObject({
  more_records: z.boolean().default(false),
  next_page_token: z.string().nullish(),
  previous_page_token: z.string().nullish(),
  page_token_expiry: zohoDateTime.nullish(),
  count: z.number().optional(),
  page: z.number().optional(),
  per_page: z.number().optional(),
}) satisfies z.ZodType<ZohoPageInfo, unknown>

// -------------------------------------------------------------------------------------- errors

/** `{code, details, message, status}`; also used for one entry of a `data[]` result. */
export const errorEnvelopeSchema = z.looseObject({
  code: z.string(),
  details: z.record(z.string(), z.unknown()).nullish(),
  message: z.string().nullish(),
  status: z.string().nullish(),
})
export type ZohoErrorEnvelope = z.infer<typeof errorEnvelopeSchema>

// ---------------------------------------------------------------------------------------- oauth

/** Token endpoint success. Errors are `{error}` (often with HTTP 200): check for access_token. */
export const tokenSuccessSchema = z.looseObject({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1).optional(),
  api_domain: z.string().optional(),
  token_type: z.string().optional(),
  scope: z.string().optional(),
  expires_in: z.number().optional(),
  /** Older responses: present → expires_in is in milliseconds. */
  expires_in_sec: z.number().optional(),
})
export const tokenErrorSchema = z.looseObject({ error: z.string(), error_description: z.string().optional() })
export const tokenResponseSchema = z.union([tokenSuccessSchema, tokenErrorSchema])
export type ZohoTokenResponse = z.infer<typeof tokenResponseSchema>

// -------------------------------------------------------------------------------------- records

/** One chunk of a record as returned (only requested fields are present). */
export const recordChunkSchema = z.looseObject({ id: zohoId })

/** Typed by annotation, not by a transform: the output is the parsed object itself. */
export const dealSchema: z.ZodType<ZohoDealRecord, unknown> = z.looseObject({
  id: zohoId,
  Deal_Name: nullish(z.string()),
  Stage: nullish(z.string()),
  Amount: nullish(zohoMoney),
  Currency: z.string().nullish(),
  Exchange_Rate: zohoMoney.nullish(),
  Expected_Revenue: zohoMoney.nullish(),
  Probability: nullish(intLike),
  Closing_Date: nullish(zohoDate),
  Pipeline: z.string().nullish(),
  Owner: nullish(lookupSchema),
  Account_Name: lookupSchema.nullish(),
  Contact_Name: lookupSchema.nullish(),
  Type: z.string().nullish(),
  Lead_Source: z.string().nullish(),
  Created_Time: zohoDateTime,
  Modified_Time: zohoDateTime,
  Last_Activity_Time: zohoDateTime.nullish(),
})

export const recordsPageSchema = z.object({
  data: z.array(recordChunkSchema),
  info: pageInfoSchema.default({ more_records: false }),
})

/** A Deals page whose records need no merging: every record validated in the same pass. */
export const dealsPageSchema = recordsPageSchema.extend({ data: z.array(dealSchema) })

export const deletedRecordSchema = z.looseObject({
  id: zohoId,
  display_name: nullish(z.string()),
  // 'recycle' | 'permanent' as documented; any other value (or none) is still a deletion.
  type: nullish(z.string()),
  deleted_time: zohoDateTime,
  deleted_by: nullish(lookupSchema),
  created_by: nullish(lookupSchema),
}) satisfies z.ZodType<ZohoDeletedRecord, unknown>

export const deletedPageSchema = z.object({
  data: z.array(deletedRecordSchema),
  info: pageInfoSchema.default({ more_records: false }),
})

export const stageHistoryRowSchema: z.ZodType<ZohoStageHistoryRow, unknown> = z.looseObject({
  id: zohoId,
  Stage: z.string(),
  Amount: nullish(zohoMoney),
  Expected_Revenue: zohoMoney.nullish(),
  Probability: nullish(intLike),
  Close_Date: nullish(zohoDate),
  Modified_Time: zohoDateTime,
})

export const stageHistoryPageSchema = z.object({
  data: z.array(stageHistoryRowSchema),
  info: pageInfoSchema.default({ more_records: false }),
})

/** COQL: `{data, info:{count, more_records}}`; rows are loose (whatever was selected). */
export const coqlResponseSchema = z.object({
  data: z.array(recordChunkSchema),
  info: z.looseObject({ count: z.number(), more_records: z.boolean() }),
})

/** Watch callback body (no signature: authenticate with the echoed token). */
export const notificationSchema = z.looseObject({
  server_time: z.number(),
  module: z.string(),
  resource_uri: z.string().optional(),
  ids: z.array(zohoId),
  operation: z.string(),
  channel_id: z.union([zohoId, z.number().transform(String)]),
  token: z.string().nullish(),
  query_params: z.record(z.string(), z.unknown()).nullish(),
  affected_fields: z.array(z.record(z.string(), z.array(z.string()))).optional(),
  affected_values: z
    .array(z.looseObject({ record_id: zohoId, values: z.record(z.string(), z.unknown()) }))
    .optional(),
})
export type ZohoNotification = z.infer<typeof notificationSchema>

// ------------------------------------------------------------------------------- org, currencies

export const orgSchema = z.looseObject({
  id: zohoId,
  company_name: z.string(),
  time_zone: z.string(),
  iso_code: z.string(),
  mc_status: z.boolean(),
  domain_name: z.string().nullish(),
  primary_zuid: z.string().nullish(),
  currency: z.string().nullish(),
  type: z.string().nullish(),
}) satisfies z.ZodType<ZohoOrg, unknown>

export const orgEnvelopeSchema = z.object({ org: z.array(orgSchema).min(1) })

export const currencySchema = z.looseObject({
  id: zohoId,
  iso_code: z.string(),
  name: z.string(),
  exchange_rate: zohoMoney,
  is_base: z.boolean(),
  is_active: z.boolean(),
  symbol: z.string().nullish(),
  format: z.looseObject({ decimal_places: z.union([z.string(), z.number()]).optional() }).nullish(),
}) satisfies z.ZodType<ZohoCurrency, unknown>

export const currenciesSchema = z.object({ currencies: z.array(currencySchema) })

// -------------------------------------------------------------------------- users, roles, profiles

export const userSchema = z.looseObject({
  id: zohoId,
  zuid: z.string().nullish(),
  full_name: z.string(),
  first_name: z.string().nullish(),
  last_name: z.string().nullish(),
  email: nullish(z.string()),
  status: z.string(),
  role: nullish(lookupSchema),
  profile: nullish(lookupSchema),
  Reporting_To: lookupSchema.nullish(),
  time_zone: z.string().nullish(),
  Modified_Time: zohoDateTime.nullish(),
}) satisfies z.ZodType<ZohoUser, unknown>

export const usersPageSchema = z.object({
  users: z.array(userSchema),
  info: pageInfoSchema.default({ more_records: false }),
})

export const roleSchema = z.looseObject({
  id: zohoId,
  name: z.string(),
  display_label: z.string().nullish(),
  reporting_to: nullish(lookupSchema),
}) satisfies z.ZodType<ZohoRole, unknown>

export const rolesSchema = z.object({ roles: z.array(roleSchema) })

export const profileSchema = z.looseObject({ id: zohoId, name: z.string() }) satisfies z.ZodType<
  ZohoProfile,
  unknown
>
export const profilesSchema = z.object({ profiles: z.array(profileSchema) })

export const layoutSchema = z.looseObject({ id: zohoId, name: z.string() }) satisfies z.ZodType<
  ZohoLayout,
  unknown
>
export const layoutsSchema = z.object({ layouts: z.array(layoutSchema) })

// --------------------------------------------------------------------------- pipelines and stages

const forecastCategorySchema = z.looseObject({ name: z.string(), id: zohoId.optional() })

export const pipelineSchema = z.looseObject({
  id: zohoId,
  display_value: z.string(),
  actual_value: z.string(),
  default: z.boolean().default(false),
  child_available: z.boolean().optional(),
  parent: z.unknown().optional(),
  maps: z
    .array(
      z.looseObject({
        id: zohoId.optional(),
        display_value: z.string(),
        actual_value: z.string(),
        sequence_number: z.number(),
        forecast_type: z.string().nullish(),
        forecast_category: forecastCategorySchema.nullish(),
      }),
    )
    .default([]),
}) satisfies z.ZodType<ZohoPipeline, unknown>

export const pipelinesSchema = z.object({ pipeline: z.array(pipelineSchema) })

export const picklistValueSchema = z.looseObject({
  id: zohoId.optional(),
  display_value: z.string(),
  actual_value: z.string(),
  reference_value: z.string().nullish(),
  sequence_number: z.number(),
  probability: nullish(intLike),
  deal_category: z.string().nullish(),
  forecast_type: z.string().nullish(),
  forecast_category: forecastCategorySchema.nullish(),
  type: z.string().nullish(),
}) satisfies z.ZodType<ZohoStagePicklistValue, unknown>

export const fieldSchema = z.looseObject({
  api_name: z.string(),
  id: zohoId.optional(),
  field_label: z.string().nullish(),
  display_label: z.string().nullish(),
  data_type: z.string().nullish(),
  json_type: z.string().nullish(),
  custom_field: z.boolean().nullish(),
  pick_list_values: z.array(picklistValueSchema).nullish(),
})
export type ZohoField = z.infer<typeof fieldSchema>

export const fieldsSchema = z.object({ fields: z.array(fieldSchema) })
