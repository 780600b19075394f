import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import postgres from 'postgres'
import { sql } from 'drizzle-orm'
import { connectPostgres, query, type Database } from '../../api/src/db/client'
import { nodePostgresOptions } from '../../api/src/db/postgres-node'
import { EXPORT_COLUMNS } from '../../shared/contracts/deals'
import { createPostgresDatabaseUrl, createTestDatabase, testDbKind } from '../helpers/db'
import { createTestApp } from '../helpers/app'
import { asUser } from '../helpers/auth'
import { parseCsv } from '../helpers/csv'
import { seedOrg, type SeedResult } from '../helpers/seed'

/*
 * The CSV's dates do not depend on the database's DateStyle or TimeZone. A DBA may set
 * `DateStyle = 'SQL, DMY'` on the server, the database or the role (a UK install, a shared cluster),
 * and a session may set it: `closing_date::text` then reads 05/01/2027, which a spreadsheet takes for
 * 5 January or 1 May depending on the user's locale. On PostgreSQL the database itself carries the
 * settings here (new connections pick them up, as from postgresql.conf); on PGlite, whose one
 * session is the whole database, the session sets them.
 */
const DATESTYLE = 'SQL, DMY'
/** UTC+14: a date turned into a timestamp and back through UTC would move a day. */
const TIMEZONE = 'Pacific/Kiritimati'

describe(`deals CSV dates under DateStyle '${DATESTYLE}' and TimeZone ${TIMEZONE} (${testDbKind})`, () => {
  let database: Database
  let dropDatabase = async () => {}
  let plainUrl: string | null = null
  let seed: SeedResult
  let csv: () => Promise<string[][]>

  beforeAll(async () => {
    if (testDbKind === 'postgres') {
      const made = await createPostgresDatabaseUrl()
      dropDatabase = made.drop
      plainUrl = made.url
      const name = new URL(made.url).pathname.slice(1)
      const admin = postgres(made.url, { max: 1, onnotice: () => {} })
      await admin.unsafe(`alter database ${name} set datestyle = '${DATESTYLE}'`)
      await admin.unsafe(`alter database ${name} set timezone = '${TIMEZONE}'`)
      await admin.end()
      database = connectPostgres(made.url, { ...nodePostgresOptions, max: 4 })
    } else {
      database = await createTestDatabase()
      await database.db.execute(sql.raw(`set datestyle = '${DATESTYLE}'`))
      await database.db.execute(sql.raw(`set timezone = '${TIMEZONE}'`))
    }
    seed = await seedOrg(database.db)
    const { app, config } = createTestApp(database, {}, { now: () => seed.now })
    csv = async () => {
      const res = await app.request('/api/v1/exports/deals.csv', {
        headers: await asUser(config, seed.orgId, seed.users.admin),
      })
      expect(res.status).toBe(200)
      return parseCsv(await res.text())
    }
  })
  afterAll(async () => {
    await database?.close()
    await dropDatabase()
  })

  it('the database really answers in that style (else this suite proves nothing)', async () => {
    // On PostgreSQL a plain connection: the product's own (postgres-node.ts) sets ISO and UTC.
    if (plainUrl) {
      const plain = postgres(plainUrl, { max: 1, onnotice: () => {} })
      const [r] = await plain`select date '2027-01-05'::text as d`
      await plain.end()
      expect(r!.d).toBe('05/01/2027')
    } else {
      const [r] = await query<{ d: string }>(database.db, sql`select date '2027-01-05'::text as d`)
      expect(r!.d).toBe('05/01/2027')
    }
  })

  it('closing_date and fx_date come out as YYYY-MM-DD, the dates stored', async () => {
    const stored = await query<{ id: string; closing: string | null; fx: string | null }>(
      database.db,
      sql`select id, to_char(closing_date, 'YYYY-MM-DD') as closing, to_char(fx_date, 'YYYY-MM-DD') as fx
          from deals where org_id = ${seed.orgId}`,
    )
    const rows = (await csv()).slice(1)
    const col = (c: (typeof EXPORT_COLUMNS)[number]) => EXPORT_COLUMNS.indexOf(c)
    expect(rows.length).toBe(stored.length)
    expect(stored.filter((s) => s.closing !== null).length).toBeGreaterThan(10)
    expect(stored.filter((s) => s.fx !== null).length).toBeGreaterThan(10)
    for (const s of stored) {
      const row = rows.find((r) => r[0] === s.id)!
      expect(row[col('closing_date')], s.id).toBe(s.closing ?? '')
      expect(row[col('fx_date')], s.id).toBe(s.fx ?? '')
    }
  })

  it('a closing date on the first of a month is not read day-first or shifted by the zone', async () => {
    const [deal] = await query<{ id: string }>(
      database.db,
      sql`select id from deals where org_id = ${seed.orgId} order by id limit 1`,
    )
    await database.db.execute(
      sql`update deals set closing_date = '2027-01-05', fx_date = '2026-11-23'
          where org_id = ${seed.orgId} and id = ${deal!.id}`,
    )
    const row = (await csv()).find((r) => r[0] === deal!.id)!
    expect(row[EXPORT_COLUMNS.indexOf('closing_date')]).toBe('2027-01-05')
    expect(row[EXPORT_COLUMNS.indexOf('fx_date')]).toBe('2026-11-23')
  })
})
