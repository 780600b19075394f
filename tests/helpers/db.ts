import { readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { sql } from 'drizzle-orm'
import { inject } from 'vitest'
import { connectPostgres, query, type Database, type Db } from '../../api/src/db/client'
import { connectPglite } from '../../api/src/db/pglite'
import { nodePostgresOptions } from '../../api/src/db/postgres-node'
import { withDatabase } from './global-setup'

export type TestDbKind = 'pglite' | 'postgres'

/** Which engine this vitest project runs against (set per project in vitest.config.ts). */
export const testDbKind = (process.env.TEST_DB ?? 'pglite') as TestDbKind

/**
 * A fresh, migrated, empty database for one suite: PGlite in memory from the migrated dump, or a
 * PostgreSQL database cloned from the migrated template. close() drops it.
 */
export async function createTestDatabase(kind: TestDbKind = testDbKind): Promise<Database> {
  if (kind === 'pglite') {
    const tar = readFileSync(inject('pgliteTemplate'))
    return connectPglite(undefined, new Blob([tar]))
  }
  const url = process.env.TEST_DATABASE_URL
  const template = inject('pgTemplate')
  if (!url || !template) throw new Error('TEST_DATABASE_URL is not set: the postgres project needs it')
  const name = `${template}_${randomBytes(4).toString('hex')}`
  const admin = postgres(url, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name} template ${template}`)
  const database = connectPostgres(withDatabase(url, name), { ...nodePostgresOptions, max: 4 })
  return {
    ...database,
    close: async () => {
      await database.close()
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end()
    },
  }
}

/** The URL of a fresh cloned PostgreSQL database, for tests that start another process on it. */
export async function createPostgresDatabaseUrl(): Promise<{ url: string; drop(): Promise<void> }> {
  const url = process.env.TEST_DATABASE_URL
  const template = inject('pgTemplate')
  if (!url || !template) throw new Error('TEST_DATABASE_URL is not set')
  const name = `${template}_${randomBytes(4).toString('hex')}`
  const admin = postgres(url, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name} template ${template}`)
  return {
    url: withDatabase(url, name),
    drop: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end()
    },
  }
}

/** An org's Zoho calls as its hourly budget counts them: the sum of its zoho_call_minutes rows. */
export async function recordedZohoCalls(db: Db, orgId: string): Promise<number> {
  const [r] = await query<{ n: number }>(
    db,
    sql`select coalesce(sum(calls), 0)::int as n from zoho_call_minutes where org_id = ${orgId}`,
  )
  return r!.n
}
