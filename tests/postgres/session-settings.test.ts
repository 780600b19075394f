import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import postgres from 'postgres'
import { sql } from 'drizzle-orm'
import { connectPostgres, query, type Database } from '../../api/src/db/client'
import { nodePostgresOptions } from '../../api/src/db/postgres-node'
import { createPostgresDatabaseUrl } from '../helpers/db'
import { createTestApp } from '../helpers/app'
import { asUser } from '../helpers/auth'
import { seedOrg, type SeedResult } from '../helpers/seed'

/*
 * A server, database or role whose DBA set `DateStyle = 'SQL, DMY'` and another TimeZone (a UK
 * install, a shared cluster). Node's connections set their own session (postgres-node.ts), so the
 * API answers as on any other server: ISO dates in the contracts, working keyset cursors.
 */
const DATESTYLE = 'SQL, DMY'
const TIMEZONE = 'Pacific/Kiritimati'

describe(`the API on a database whose DateStyle is '${DATESTYLE}' and TimeZone ${TIMEZONE}`, () => {
  let url = ''
  let database: Database
  let drop = async () => {}
  let seed: SeedResult
  let get: (path: string) => Promise<Response>

  beforeAll(async () => {
    const made = await createPostgresDatabaseUrl()
    url = made.url
    drop = made.drop
    const admin = postgres(url, { max: 1, onnotice: () => {} })
    const name = new URL(url).pathname.slice(1)
    await admin.unsafe(`alter database ${name} set datestyle = '${DATESTYLE}'`)
    await admin.unsafe(`alter database ${name} set timezone = '${TIMEZONE}'`)
    await admin.end()
    database = connectPostgres(url, { ...nodePostgresOptions, max: 4 })
    seed = await seedOrg(database.db)
    const { app, config } = createTestApp(database, {}, { now: () => seed.now })
    const headers = await asUser(config, seed.orgId, seed.users.admin)
    get = async (path) => await app.request(`/api/v1${path}`, { headers })
  })
  afterAll(async () => {
    await database?.close()
    await drop()
  })

  it('a plain connection to that database really answers in that style (else this proves nothing)', async () => {
    const plain = postgres(url, { max: 1, onnotice: () => {} })
    const [r] = await plain`select date '2027-01-05'::text as d, current_setting('TimeZone') as tz`
    await plain.end()
    expect(r).toEqual({ d: '05/01/2027', tz: TIMEZONE })
  })

  it('the deals list gives ISO closing dates and its next pages by closing date and by modified time', async () => {
    const stored = await query<{ id: string; closing: string | null }>(
      database.db,
      sql`select id, to_char(closing_date, 'YYYY-MM-DD') as closing from deals where org_id = ${seed.orgId}`,
    )
    const closingOf = new Map(stored.map((s) => [s.id, s.closing]))
    for (const sort of ['closingDate', 'modified']) {
      const seen: string[] = []
      let cursor: string | null = null
      do {
        const res = await get(`/deals?sort=${sort}&limit=25${cursor ? `&cursor=${cursor}` : ''}`)
        expect(res.status, `${sort} after ${seen.length}`).toBe(200)
        const body = (await res.json()) as {
          deals: { id: string; closingDate: string | null }[]
          nextCursor: string | null
        }
        for (const d of body.deals) {
          expect(d.closingDate, d.id).toBe(closingOf.get(d.id) ?? null)
          seen.push(d.id)
        }
        cursor = body.nextCursor
      } while (cursor)
      expect(new Set(seen).size, sort).toBe(stored.length)
      expect(seen.length, sort).toBe(stored.length)
    }
  })

  it("a deal's page gives ISO dates and real timestamps", async () => {
    const [d] = await query<{ id: string; closing: string; created: string }>(
      database.db,
      sql`select id, to_char(closing_date, 'YYYY-MM-DD') as closing,
                 to_char(created_time at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') as created
          from deals where org_id = ${seed.orgId} and closing_date is not null order by id limit 1`,
    )
    const res = await get(`/deals/${d!.id}`)
    expect(res.status).toBe(200)
    const deal = (await res.json()) as { closingDate: string; createdTime: string }
    expect(deal.closingDate).toBe(d!.closing)
    expect(new Date(deal.createdTime).toISOString().slice(0, 19)).toBe(d!.created)
  })
})
