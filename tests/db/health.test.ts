import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import type { Database } from '../../api/src/db/client'
import { query } from '../../api/src/db/client'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { createTestApp } from '../helpers/app'

describe(`health and errors (${testDbKind})`, () => {
  let database: Database
  beforeAll(async () => {
    database = await createTestDatabase()
  })
  afterAll(() => database.close())

  it('answers liveness and readiness once migrations are applied', async () => {
    const { app } = createTestApp(database)
    const live = await app.request('/healthz')
    expect(live.status).toBe(200)
    expect(await live.json()).toEqual({ status: 'ok' })
    const ready = await app.request('/readyz')
    expect(ready.status).toBe(200)
    const body = (await ready.json()) as { migrations: { applied: number; expected: number } }
    expect(body.migrations.applied).toBe(body.migrations.expected)
    expect(body.migrations.expected).toBeGreaterThan(0)
  })

  it('reports not ready when a migration is missing', async () => {
    const { app } = createTestApp(database)
    const [{ id }] = (await query<{ id: number }>(
      database.db,
      sql`select max(id)::int as id from drizzle.__drizzle_migrations`,
    )) as [{ id: number }]
    const [saved] = await query(
      database.db,
      sql`delete from drizzle.__drizzle_migrations where id = ${id} returning *`,
    )
    try {
      const ready = await app.request('/readyz')
      expect(ready.status).toBe(503)
      expect(((await ready.json()) as { status: string }).status).toBe('migrating')
    } finally {
      const s = saved as { id: number; hash: string; created_at: string }
      await database.db.execute(
        sql`insert into drizzle.__drizzle_migrations (id, hash, created_at) values (${s.id}, ${s.hash}, ${s.created_at})`,
      )
    }
  })

  it('gives every response a request id and unknown routes the error envelope', async () => {
    const { app } = createTestApp(database)
    const res = await app.request('/api/v1/nope')
    expect(res.status).toBe(404)
    const requestId = res.headers.get('x-request-id')
    expect(requestId).toBeTruthy()
    expect(await res.json()).toEqual({
      error: { code: 'NOT_FOUND', message: 'No route for GET /api/v1/nope', requestId },
    })
  })

  it('stores money as numeric and ids as text, exactly', async () => {
    await database.db.execute(
      sql`insert into orgs (id, name, home_currency) values ('9007199254740993123', 'Acme', 'USD')`,
    )
    await database.db.execute(
      sql`insert into deals (org_id, id, name, stage, state, amount, currency, created_time, modified_time)
          values ('9007199254740993123', '5725767000003000064', 'Big', 'Qualification', 'open', '99999999999999.99', 'USD', now(), now())`,
    )
    const [row] = await query<{ id: string; amount: string }>(database.db, sql`select id, amount from deals`)
    expect(row).toEqual({ id: '5725767000003000064', amount: '99999999999999.99' })
  })
})
