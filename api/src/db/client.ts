import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import type { SQL } from 'drizzle-orm'
import postgres from 'postgres'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import * as schema from './schema'

export { schema }
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>

/** A connected database: drizzle for queries, plus how to close it. Same type on every driver. */
export interface Database {
  db: Db
  kind: 'pglite' | 'postgres'
  close(): Promise<void>
}

/**
 * Rows of a raw `db.execute(sql...)`. postgres.js answers an array, PGlite `{ rows }`.
 * Counts: cast with `::int` in SQL so both drivers give a number (int8 would be a string on postgres.js).
 */
export async function query<T = Record<string, unknown>>(db: Db, statement: SQL): Promise<T[]> {
  const result = (await db.execute(statement)) as unknown
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[]
}

export interface PostgresOptions {
  /** Pool size. Workers allow 6 sockets per invocation: keep it ≤ 5 there. */
  max?: number
}

/** postgres.js + drizzle. On Workers create one per request (I/O objects cannot cross requests). */
export function connectPostgres(url: string, opts: PostgresOptions = {}): Database {
  const client = postgres(url, {
    max: opts.max ?? 10,
    fetch_types: false,
    onnotice: () => {},
    // Serialize bigints as strings like PGlite does in ours (we never rely on JS numbers for ids).
  })
  const db = drizzlePostgres({ client, schema }) as unknown as Db
  return { db, kind: 'postgres', close: () => client.end({ timeout: 5 }) }
}
