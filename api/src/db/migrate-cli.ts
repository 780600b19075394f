/** npm run migrate: apply pending migrations to DATABASE_URL (or the PGlite folder) and exit. */
import { ConfigError, loadConfig } from '../config'
import { connectPostgres } from './client'
import { connectPglite } from './pglite'
import { runMigrations } from './migrate'

try {
  const config = loadConfig(process.env)
  const database = config.DATABASE_URL
    ? connectPostgres(config.DATABASE_URL, { max: 1 })
    : await connectPglite(config.DATA_DIR)
  await runMigrations(database)
  await database.close()
  console.log(`migrations applied (${database.kind})`)
} catch (e) {
  console.error(e instanceof ConfigError ? e.message : `migration failed: ${(e as Error).message}`)
  // 2 for bad configuration, as npm start and npm run sync exit
  process.exit(e instanceof ConfigError ? 2 : 1)
}
