import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { z } from 'zod'
import {
  coqlResponseSchema,
  currenciesSchema,
  dealSchema,
  deletedPageSchema,
  errorEnvelopeSchema,
  notificationSchema,
  parseZohoJson,
  recordsPageSchema,
} from '../../api/src/zoho/schemas'

/**
 * Every real Zoho body in the reference samples parses with our schemas. The repo keeps a copy in
 * tests/fixtures (a fresh clone has no ../shared); when the reference folder is present too, the
 * copy must hold the same content and cover every sample.
 */
const fixturesDir = resolve(__dirname, '../fixtures/zoho-samples')
const referenceDir = [
  resolve(__dirname, '../../../shared/reference/zoho-samples'),
  '/work/shared/reference/zoho-samples',
].find((d) => existsSync(d))
const jsonFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.json'))
const read = (name: string) =>
  readFileSync(
    existsSync(join(fixturesDir, name)) ? join(fixturesDir, name) : join(referenceDir!, name),
    'utf8',
  )

const schemaFor: Record<string, z.ZodType> = {
  'coql_response.json': coqlResponseSchema,
  'deleted_records.json': deletedPageSchema,
  'error_invalid_token.json': errorEnvelopeSchema,
  'notification_callback.json': notificationSchema,
  'org_currencies.json': currenciesSchema,
  'records_list_page.json': recordsPageSchema,
}

describe('Zoho reference samples', () => {
  const names = [
    ...new Set([...jsonFiles(fixturesDir), ...(referenceDir ? jsonFiles(referenceDir) : [])]),
  ].sort()

  it('has a fixture copy of every reference sample, with the same content, and a schema for each', () => {
    expect(names.length).toBeGreaterThanOrEqual(6)
    for (const name of names) {
      expect(existsSync(join(fixturesDir, name)), `${name} copied to tests/fixtures`).toBe(true)
      // Same content (the copy may be re-indented by prettier; numbers compared as written).
      if (referenceDir && existsSync(join(referenceDir, name)))
        expect(parseZohoJson(readFileSync(join(fixturesDir, name), 'utf8'))).toEqual(
          parseZohoJson(readFileSync(join(referenceDir, name), 'utf8')),
        )
      expect(schemaFor[name], `schema for ${name}`).toBeDefined()
    }
  })

  it.each(Object.keys(schemaFor))('parses %s', (name) => {
    const result = schemaFor[name]!.safeParse(parseZohoJson(read(name)))
    expect(result.error?.issues ?? []).toEqual([])
  })

  it('keeps ids as strings and datetimes with their offsets (records page, deleted, currencies)', () => {
    const page = recordsPageSchema.parse(parseZohoJson(read('records_list_page.json')))
    expect(page.data[0]).toMatchObject({
      id: '3652397000009851001',
      Converted_Date_Time: '2022-11-21T15:12:13+05:30',
    })
    expect(page.info).toMatchObject({ more_records: true, next_page_token: 'c8582xx9e7c7', per_page: 5 })

    const deleted = deletedPageSchema.parse(parseZohoJson(read('deleted_records.json')))
    expect(deleted.data.map((d) => d.type)).toEqual(['recycle', 'recycle', 'permanent', 'permanent'])
    expect(deleted.data[2]).toMatchObject({ display_name: null, deleted_by: null, created_by: null })
    expect(deleted.data[0]!.deleted_by).toEqual({ id: '410888000000086001', name: 'Patricia Boyle' })

    const cur = currenciesSchema.parse(parseZohoJson(read('org_currencies.json')))
    expect(cur.currencies.map((c) => [c.iso_code, c.exchange_rate, c.is_base])).toEqual([
      ['DZD', '3.000000000', true],
      ['INR', '1.000000000', false],
      ['USD', '3.000000000', false],
    ])
  })

  it('reads the INVALID_TOKEN envelope and COQL lookups that carry only an id', () => {
    expect(errorEnvelopeSchema.parse(JSON.parse(read('error_invalid_token.json')))).toMatchObject({
      code: 'INVALID_TOKEN',
      status: 'error',
    })
    const coql = coqlResponseSchema.parse(parseZohoJson(read('coql_response.json')))
    expect(coql.data[0]).toMatchObject({ Data_Processing_Basis_Details: { id: '5725767000005083039' } })
  })
})

describe('money from Zoho is exact', () => {
  const deal = (amount: string, extra = '') =>
    `{"data":[{"id":"5725767000003000064","Deal_Name":"Big","Stage":"Qualification","Amount":${amount},` +
    `"Probability":10,"Closing_Date":"2024-07-01","Owner":{"name":"A","id":"5725767000000411001","email":"a@x.io"},` +
    `"Created_Time":"2024-06-05T02:04:09-07:00","Modified_Time":"2024-06-05T02:04:09-07:00"${extra}}],` +
    `"info":{"more_records":false,"per_page":200,"page":1,"count":1}}`
  const parseDeal = (text: string) => dealSchema.parse(recordsPageSchema.parse(parseZohoJson(text)).data[0])

  it('keeps 12345678901234.57 and 0.1 as the exact decimal strings Zoho sent', () => {
    expect(parseDeal(deal('12345678901234.57')).Amount).toBe('12345678901234.57')
    expect(parseDeal(deal('0.1')).Amount).toBe('0.1')
    expect(parseDeal(deal('99999999999999.99')).Amount).toBe('99999999999999.99')
    // A double cannot hold this one: JSON.parse would give 12345678901234.568.
    expect(String(JSON.parse('12345678901234.567'))).not.toBe('12345678901234.567')
    expect(parseDeal(deal('12345678901234.567')).Amount).toBe('12345678901234.567')
  })

  it('keeps Exchange_Rate and Expected_Revenue exact, null stays null', () => {
    const d = parseDeal(
      deal(
        'null',
        ',"Currency":"EUR","Exchange_Rate":1.123456789012345678,"Expected_Revenue":1234567890123456.78',
      ),
    )
    expect(d.Amount).toBeNull()
    expect(d.Exchange_Rate).toBe('1.123456789012345678')
    expect(d.Expected_Revenue).toBe('1234567890123456.78')
    expect(d.Closing_Date).toBe('2024-07-01')
    expect(d.Created_Time).toBe('2024-06-05T02:04:09-07:00')
  })

  it('passes unknown and custom fields through untouched', () => {
    const d = parseDeal(
      deal('5', ',"Custom_Score__c":7.5,"$currency_symbol":"$","Territory":[{"id":"1","name":"APAC"}]'),
    )
    expect(d.Custom_Score__c).toBe(7.5)
    expect(d.$currency_symbol).toBe('$')
    expect(d.Territory).toEqual([{ id: '1', name: 'APAC' }])
  })

  it('keeps the Amount of a Watch callback exact', () => {
    const body =
      '{"server_time":1718117126473,"query_params":{},"module":"Deals","ids":["5725767000003000064"],' +
      '"affected_values":[{"record_id":"5725767000003000064","values":{"Stage":"Closed Won","Amount":12345678901234.57}}],' +
      '"operation":"update","channel_id":"1000000068001","token":"t"}'
    const n = notificationSchema.parse(parseZohoJson(body))
    expect(n.affected_values?.[0]?.values.Amount).toBe('12345678901234.57')
  })
})
