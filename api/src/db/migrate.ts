import { fileURLToPath } from 'node:url'
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator'
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator'
import type { Database } from './client'

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../../drizzle', import.meta.url))

/** Apply pending drizzle-kit migrations (Node). Workers run them out of band: see README. */
export async function runMigrations(database: Database): Promise<void> {
  const config = { migrationsFolder: MIGRATIONS_FOLDER }
  if (database.kind === 'pglite') await migratePglite(database.db as never, config)
  else await migratePostgres(database.db as never, config)
}
