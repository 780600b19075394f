import { Hono } from 'hono'
import { sql } from 'drizzle-orm'
import journal from '../../../drizzle/meta/_journal.json'
import { query } from '../db/client'
import type { AppEnv } from '../http/types'

/** Liveness and readiness. Readiness = database reachable and every migration applied. */
export const health = new Hono<AppEnv>()
  .get('/healthz', (c) => c.json({ status: 'ok' }))
  .get('/readyz', async (c) => {
    const expected = journal.entries.length
    try {
      const [row] = await query<{ n: number }>(
        c.var.db,
        sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
      )
      const applied = row?.n ?? 0
      if (applied < expected)
        return c.json({ status: 'migrating', database: 'up', migrations: { applied, expected } }, 503)
      return c.json({ status: 'ready', database: 'up', migrations: { applied, expected } })
    } catch {
      return c.json({ status: 'unavailable', database: 'down', migrations: { applied: 0, expected } }, 503)
    }
  })
