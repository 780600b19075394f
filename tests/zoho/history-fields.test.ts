import { describe, expect, it } from 'vitest'
import { STAGE_HISTORY_FIELDS } from '../../api/src/zoho/client'
import { ZohoApiError } from '../../api/src/zoho/errors'
import { narrowerHistoryFields } from '../../api/src/zoho/history-fields'

const invalid = (details: Record<string, unknown>) =>
  new ZohoApiError(400, 'INVALID_DATA', 'invalid data', details, 'GET /Deals/1/Stage_History')

describe('which Stage_History fields to retry with after a refusal', () => {
  it('drops the field Zoho names, and only that one', () => {
    expect(narrowerHistoryFields(invalid({ api_name: 'Close_Date' }), STAGE_HISTORY_FIELDS)).toEqual([
      'Stage',
      'Amount',
      'Probability',
      'Expected_Revenue',
      'Modified_Time',
      'Modified_By',
    ])
  })

  it('falls back to Stage and Modified_Time when Zoho names no field, then gives up', () => {
    expect(narrowerHistoryFields(invalid({}), STAGE_HISTORY_FIELDS)).toEqual(['Stage', 'Modified_Time'])
    expect(narrowerHistoryFields(invalid({ param_name: 'fields' }), STAGE_HISTORY_FIELDS)).toEqual([
      'Stage',
      'Modified_Time',
    ])
    expect(narrowerHistoryFields(invalid({}), ['Stage', 'Modified_Time'])).toBeUndefined()
  })

  it('leaves refusals that are not about the field list alone', () => {
    // A deal id Zoho no longer knows, a field we did not ask for or cannot do without, other errors.
    expect(narrowerHistoryFields(invalid({ param_name: 'id' }), STAGE_HISTORY_FIELDS)).toBeUndefined()
    expect(narrowerHistoryFields(invalid({ api_name: 'Owner' }), STAGE_HISTORY_FIELDS)).toBeUndefined()
    expect(narrowerHistoryFields(invalid({ api_name: 'Stage' }), STAGE_HISTORY_FIELDS)).toBeUndefined()
    expect(
      narrowerHistoryFields(
        new ZohoApiError(403, 'NO_PERMISSION', 'permission denied'),
        STAGE_HISTORY_FIELDS,
      ),
    ).toBeUndefined()
    expect(narrowerHistoryFields(new Error('network'), STAGE_HISTORY_FIELDS)).toBeUndefined()
  })
})
