import { existsSync } from 'node:fs'
import { serve } from '@hono/node-server'
import { serveStatic } from '@hono/node-server/serve-static'
import * as Sentry from '@sentry/node'
import { Cron } from 'croner'
import { createApp } from './app'
import { ConfigError, loadConfig, type Config } from './config'
import { connectPostgres, type Database } from './db/client'
import { connectPglite } from './db/pglite'
import { runMigrations } from './db/migrate'
import { runJob } from './jobs'
import { createLogger, type Logger } from './observability/logger'
import { Metrics } from './observability/metrics'
import { SCHEDULES, type JobName } from './schedules'
import type { AppDeps } from './http/types'

/** Node entry: embedded defaults (PGlite, built-in sandbox Zoho org), in-process schedules, static web view. */

export async function openDatabase(config: Config): Promise<Database> {
  const database = config.DATABASE_URL
    ? connectPostgres(config.DATABASE_URL)
    : await connectPglite(config.DATA_DIR)
  await runMigrations(database)
  return database
}

/** Croner in Cloudflare's dialect (UTC, 1 = Sunday), skipping a run while the previous one is going. */
function schedule(pattern: string, name: JobName, run: () => Promise<unknown>, logger: Logger): Cron {
  return new Cron(
    pattern,
    {
      timezone: 'UTC',
      alternativeWeekdays: true,
      mode: '5-part',
      protect: true,
      name,
      catch: (err) => logger.error('schedule failed', { job: name, err }),
    },
    async () => {
      await run()
    },
  )
}

export function nodeSchedules(config: Config): Record<JobName, string> {
  return {
    sync: `*/${config.SYNC_INTERVAL_MINUTES} * * * *`,
    fx: config.CURRENCY_UPDATE_SCHEDULE,
    snapshot: SCHEDULES.snapshot,
  }
}

async function main() {
  let config: Config
  try {
    config = loadConfig(process.env)
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message)
      process.exit(2)
    }
    throw e
  }
  const logger = createLogger(config.LOG_LEVEL)
  if (config.SENTRY_DSN) Sentry.init({ dsn: config.SENTRY_DSN, environment: config.APP_ENV })

  const database = await openDatabase(config)
  const metrics = new Metrics()
  const deps: AppDeps = {
    config,
    logger,
    database: () => database,
    fetch: globalThis.fetch,
    now: () => new Date(),
    background: (task) => void task.catch((err) => logger.error('background task failed', { err })),
    metrics,
    reportError: (err) => config.SENTRY_DSN && Sentry.captureException(err),
  }

  const app = createApp(deps)
  app.get('/metrics', (c) => c.text(metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4' }))
  if (existsSync('./app/index.html')) app.use('/*', serveStatic({ root: './app' }))
  else logger.warn('web view not built: run npm run build:web')

  const jobCtx = { config, db: database.db, logger, fetch: globalThis.fetch, now: () => new Date() }
  const crons = config.SCHEDULER
    ? (Object.entries(nodeSchedules(config)) as [JobName, string][]).map(([name, pattern]) =>
        schedule(pattern, name, () => runJob(name, jobCtx), logger),
      )
    : []

  const server = serve({ fetch: app.fetch, port: config.PORT, hostname: '0.0.0.0' }, (info) =>
    logger.info('listening', {
      url: `http://localhost:${info.port}`,
      demo: config.demoMode,
      database: database.kind,
    }),
  )
  const shutdown = () => {
    crons.forEach((c) => c.stop())
    server.close(() => void database.close().finally(() => process.exit(0)))
    setTimeout(() => process.exit(0), 5000).unref()
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
}

if (import.meta.url === `file://${process.argv[1]}`) void main()
