import { ZohoApiError } from './errors'

/**
 * Stage_History's field names are not documented first-party (reference §2.4): an org may lack one
 * we ask for (Close_Date in particular). The fields every history row needs.
 */
export const MINIMAL_STAGE_HISTORY_FIELDS = ['Stage', 'Modified_Time'] as const

/**
 * The field list to retry a Stage_History call with, when Zoho refused `fields`: Zoho answers an
 * unknown field with 400 INVALID_DATA naming it in `details.api_name` (the shape it uses for every
 * invalid field): drop that one. A refusal naming nothing (or naming the `fields` parameter): the
 * minimal list. Undefined when the error is not about the field list (an invalid deal id, a hidden
 * related list, a permission) or no narrower list is left: the caller gives up as before.
 */
export function narrowerHistoryFields(e: unknown, fields: readonly string[]): string[] | undefined {
  if (!(e instanceof ZohoApiError) || e.status !== 400 || e.code !== 'INVALID_DATA') return undefined
  const named = e.details.api_name
  if (typeof named === 'string') {
    if (!fields.includes(named) || (MINIMAL_STAGE_HISTORY_FIELDS as readonly string[]).includes(named))
      return undefined
    return fields.filter((f) => f !== named)
  }
  const param = e.details.param_name
  if (param !== undefined && param !== 'fields') return undefined
  const minimal = fields.filter((f) => (MINIMAL_STAGE_HISTORY_FIELDS as readonly string[]).includes(f))
  return minimal.length < fields.length ? [...MINIMAL_STAGE_HISTORY_FIELDS] : undefined
}

/**
 * Zoho's answer for a deal that no longer exists (deleted since the run's deals pass): 400
 * INVALID_DATA naming the `id` parameter ("the related id given seems to be invalid"). It concerns
 * that one deal, not the related list: the backfill goes on with the others.
 */
export function isDealGone(e: unknown): boolean {
  return (
    e instanceof ZohoApiError &&
    e.status === 400 &&
    e.code === 'INVALID_DATA' &&
    e.details.param_name === 'id'
  )
}
