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

/** The SQLSTATE of a database error, bare (postgres.js, PGlite) or wrapped by drizzle (`cause`). */
export const sqlState = (e: unknown): unknown =>
  (e as { code?: unknown } | null)?.code ?? (e as { cause?: { code?: unknown } } | null)?.cause?.code

export interface PostgresOptions {
  /** Pool size. Workers allow 6 sockets per invocation: keep it ≤ 5 there. */
  max?: number
  /** A connected socket per connection (Node: see postgres-node.ts); postgres.js does not type it. */
  socket?: (o: { host: string[]; port: number[]; path?: string | false }) => Promise<unknown>
  /** Server settings sent in each connection's startup packet (Node: see postgres-node.ts). */
  connection?: Record<string, string>
}

/** postgres.js + drizzle. On Workers create one per request (I/O objects cannot cross requests). */
export function connectPostgres(url: string, opts: PostgresOptions = {}): Database {
  const client = postgres(url, {
    max: opts.max ?? 10,
    fetch_types: false,
    onnotice: () => {},
    ...(opts.socket ? ({ socket: opts.socket } as object) : {}),
    ...(opts.connection ? { connection: opts.connection } : {}),
    // Serialize bigints as strings like PGlite does in ours (we never rely on JS numbers for ids).
  })
  const db = drizzlePostgres({ client, schema }) as unknown as Db
  return { db, kind: 'postgres', close: () => client.end({ timeout: 5 }) }
}
