/**
 * The Zoho CRM client's public surface, agreed between the client (api/src/zoho) and its users
 * (sync, auth). Field names follow Zoho's API names. Money fields are exact decimal strings (parsed
 * losslessly from the JSON numbers), ids are strings, datetimes keep their offsets, Closing_Date is
 * a plain YYYY-MM-DD date.
 */

export interface ZohoLookup {
  id: string
  name: string | null
  email?: string | null
}

export interface ZohoDealRecord {
  id: string
  Deal_Name: string | null
  Stage: string | null
  /** Exact decimal string, or null. */
  Amount: string | null
  Currency?: string | null
  /** Deal-currency units per one unit of the org's home currency; exact decimal string. */
  Exchange_Rate?: string | null
  Probability: number | null
  Closing_Date: string | null
  Pipeline?: string | null
  Owner: ZohoLookup | null
  Account_Name?: ZohoLookup | null
  Territory?: unknown
  Type?: string | null
  Lead_Source?: string | null
  Created_Time: string
  Modified_Time: string
  Last_Activity_Time?: string | null
  /** Every other field as Zoho sent it. */
  [field: string]: unknown
}

export interface ZohoPageInfo {
  more_records: boolean
  next_page_token?: string | null
  page_token_expiry?: string | null
  count?: number
  page?: number
  per_page?: number
}

export interface ZohoDealsPage {
  data: ZohoDealRecord[]
  info: ZohoPageInfo
  /** 'ok' with data; 'empty' for 204; 'not_modified' for 304 (both have empty data). */
  status: 'ok' | 'empty' | 'not_modified'
}

export interface ListDealsParams {
  fields: readonly string[]
  perPage?: number
  page?: number
  pageToken?: string
  sortBy?: 'id' | 'Created_Time' | 'Modified_Time'
  sortOrder?: 'asc' | 'desc'
  /** Sent as If-Modified-Since (ISO 8601 with offset, no milliseconds). */
  modifiedSince?: string
}

export interface ListDealsOptions {
  /**
   * Called with the page's `info` as soon as its body has arrived, before the records are parsed
   * (read off the end of the body; not called when it cannot be). Returns true when it started
   * another request, which then goes out before this page's parse.
   */
  onInfo?(info: ZohoPageInfo): boolean
}

export interface ZohoDeletedRecord {
  id: string
  display_name: string | null
  /** 'recycle' or 'permanent' as documented; another value is read as a deletion all the same. */
  type: string | null
  deleted_time: string
  deleted_by: ZohoLookup | null
  created_by: ZohoLookup | null
}

export interface ZohoStageHistoryRow {
  id: string
  Stage: string
  Amount: string | null
  Probability: number | null
  Close_Date: string | null
  Modified_Time: string
  [field: string]: unknown
}

export interface ZohoOrg {
  id: string
  company_name: string
  time_zone: string
  iso_code: string
  mc_status: boolean
  domain_name?: string | null
  primary_zuid?: string | null
  [field: string]: unknown
}

export interface ZohoCurrency {
  id: string
  iso_code: string
  name: string
  exchange_rate: string
  is_base: boolean
  is_active: boolean
  format?: { decimal_places?: string | number } | null
}

export interface ZohoUser {
  id: string
  zuid?: string | null
  full_name: string
  email: string | null
  status: string
  role: ZohoLookup | null
  profile: ZohoLookup | null
  Reporting_To?: ZohoLookup | null
  time_zone?: string | null
}

export interface ZohoRole {
  id: string
  name: string
  display_label?: string | null
  reporting_to: ZohoLookup | null
}

export interface ZohoProfile {
  id: string
  name: string
}

export interface ZohoLayout {
  id: string
  name: string
}

export interface ZohoPipeline {
  id: string
  display_value: string
  actual_value: string
  default: boolean
  maps: { id?: string; display_value: string; actual_value: string; sequence_number: number }[]
}

export interface ZohoStagePicklistValue {
  id?: string
  display_value: string
  actual_value: string
  sequence_number: number
  probability: number | null
  /** 'Open' | 'Closed Won' | 'Closed Lost' */
  deal_category?: string | null
  forecast_type?: string | null
  forecast_category?: { name: string; id?: string } | null
  type?: string | null
}

export type ZohoUserType =
  | 'AllUsers'
  | 'ActiveUsers'
  | 'DeactiveUsers'
  | 'DeletedUsers'
  | 'CurrentUser'
  | 'AdminUsers'
  | 'ActiveConfirmedUsers'
  | 'NotConfirmedUsers'
  | 'ConfirmedUsers'

/** API cost of the calls made through one client: every call counted, credits header read. */
export interface ZohoCallStats {
  calls: number
  creditsRemaining: number | null
}

/** The CRM REST client for one connected org. Nothing in it is sandbox-specific. */
export interface ZohoClient {
  readonly stats: ZohoCallStats
  getOrg(): Promise<ZohoOrg>
  /** null when the org has no multi-currency (403 FEATURE_NOT_SUPPORTED / CURRENCIES_NOT_ENABLED). */
  getCurrencies(): Promise<ZohoCurrency[] | null>
  /** All pages of one users type. */
  getUsers(type: ZohoUserType): Promise<ZohoUser[]>
  getCurrentUser(): Promise<ZohoUser>
  getRoles(): Promise<ZohoRole[]>
  getProfiles(): Promise<ZohoProfile[]>
  getLayouts(module: 'Deals'): Promise<ZohoLayout[]>
  getPipelines(layoutId: string): Promise<ZohoPipeline[]>
  /** The Stage field's pick_list_values from /settings/fields?module=Deals. */
  getStagePicklist(): Promise<ZohoStagePicklistValue[]>
  listDeals(params: ListDealsParams, opts?: ListDealsOptions): Promise<ZohoDealsPage>
  /** GET /Deals?ids=… (chunked by the client as needed). */
  getDealsByIds(ids: readonly string[], fields: readonly string[]): Promise<ZohoDealRecord[]>
  listDeletedDeals(params: { page?: number; perPage?: number; modifiedSince?: string }): Promise<{
    data: ZohoDeletedRecord[]
    info: ZohoPageInfo
  }>
  /** `fields`: STAGE_HISTORY_FIELDS unless given (an org may lack some: history-fields.ts). */
  getStageHistory(dealId: string, fields?: readonly string[]): Promise<ZohoStageHistoryRow[]>
}
