import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query, type Database } from '../../api/src/db/client'
import { createTestDatabase, testDbKind } from '../helpers/db'

/*
 * Node's PostgreSQL connections turn parallel query off: on a small server the worker launch
 * doubled the summary's latency at 1M deals (postgres-node.ts). PGlite is one process and has it
 * off already.
 */
describe(`database connections (${testDbKind})`, () => {
  let database: Database
  beforeAll(async () => {
    database = await createTestDatabase()
  })
  afterAll(() => database.close())

  it('launch no parallel workers for the API queries, on every pooled connection', async () => {
    const settings = await Promise.all(
      Array.from({ length: 4 }, () =>
        query<{ v: string }>(
          database.db,
          sql`select current_setting('max_parallel_workers_per_gather') as v from pg_sleep(0.05)`,
        ),
      ),
    )
    expect(settings.map(([r]) => r!.v)).toEqual(['0', '0', '0', '0'])
  })
})
