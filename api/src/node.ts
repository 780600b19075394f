import { existsSync } from 'node:fs'
import { serve } from '@hono/node-server'
import { serveStatic } from '@hono/node-server/serve-static'
import * as Sentry from '@sentry/node'
import { Cron } from 'croner'
import { createApp } from './app'
import { ConfigError, loadConfig, type Config } from './config'
import { connectPostgres, type Database } from './db/client'
import { connectPglite } from './db/pglite'
import { nodePostgresOptions } from './db/postgres-node'
import { runMigrations } from './db/migrate'
import { runJob } from './jobs'
import { nodeJobContext } from './node-context'
import { createLogger, type Logger } from './observability/logger'
import { Metrics } from './observability/metrics'
import { metricsRoute } from './observability/metrics-route'
import { SCHEDULES, type JobName } from './schedules'
import type { AppDeps } from './http/types'
import { bootstrapConnection } from './sync/bootstrap'
import { runOrgSync } from './sync/run'
import { nodeZohoHttp } from './zoho/node-http'

/** Node entry: embedded defaults (PGlite, built-in sandbox Zoho org), in-process schedules, static web view. */

export async function openDatabase(config: Config): Promise<Database> {
  const database = config.DATABASE_URL
    ? connectPostgres(config.DATABASE_URL, nodePostgresOptions)
    : await connectPglite(config.DATA_DIR)
  await runMigrations(database)
  return database
}

export interface Demo {
  /** The config with every Zoho and FX URL pointed at the sandbox. */
  config: Config
  /** The sandbox admin's refresh token, to bootstrap the connection with. */
  refreshToken: string
  close(): Promise<void>
}

/**
 * Demo mode (no ZOHO_CLIENT_ID): the built-in sandbox Zoho org and FX provider on loopback, over
 * real HTTP. Only the Node entries import the sandbox, and only here.
 */
export async function startDemo(config: Config, logger: Logger): Promise<Demo> {
  const { startSandbox } = await import('./sandbox')
  const sb = await startSandbox({ seed: 42, deals: 2000, port: config.DEMO_SANDBOX_PORT })
  logger.info('demo mode: sandbox Zoho org started', { api: sb.apiDomain, orgId: sb.orgId })
  return {
    config: {
      ...config,
      ZOHO_CLIENT_ID: sb.clientId,
      ZOHO_CLIENT_SECRET: sb.clientSecret,
      ZOHO_ACCOUNTS_URL: sb.accountsUrl,
      ZOHO_API_DOMAIN: sb.apiDomain,
      CURRENCY_API_URL: sb.fxUrl,
      CURRENCY_API_KEY: sb.fxApiKey,
    },
    refreshToken: sb.issueRefreshToken(),
    close: () => sb.close(),
  }
}

/** Croner in Cloudflare's dialect (UTC, 1 = Sunday), skipping a run while the previous one is going. */
function schedule(
  pattern: string,
  name: JobName,
  run: () => Promise<unknown>,
  logger: Logger,
  reportError?: (err: unknown, tags: Record<string, string>) => void,
): Cron {
  return new Cron(
    pattern,
    {
      timezone: 'UTC',
      alternativeWeekdays: true,
      mode: '5-part',
      protect: true,
      name,
      catch: (err) => {
        logger.error('schedule failed', { job: name, err })
        reportError?.(err, { job: name })
      },
    },
    async () => {
      await run()
    },
  )
}

/** A cron every n minutes: n divides an hour, or is whole hours dividing a day (config checks it). */
function everyMinutes(n: number): string {
  if (n < 60) return `*/${n} * * * *`
  const hours = n / 60
  return hours === 24 ? '0 0 * * *' : hours === 1 ? '0 * * * *' : `0 */${hours} * * *`
}

export function nodeSchedules(config: Config): Record<JobName, string> {
  return {
    sync: everyMinutes(config.SYNC_INTERVAL_MINUTES),
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

  const demo = config.demoMode ? await startDemo(config, logger) : undefined
  if (demo) config = demo.config
  const database = await openDatabase(config)
  const metrics = new Metrics()
  const deps: AppDeps = {
    config,
    logger,
    database: () => database,
    fetch: globalThis.fetch,
    zohoHttp: nodeZohoHttp,
    now: () => new Date(),
    background: (task) => void task.catch((err) => logger.error('background task failed', { err })),
    metrics,
    reportError: (err) => config.SENTRY_DSN && Sentry.captureException(err),
  }

  const app = createApp(deps)
  app.get('/metrics', metricsRoute(metrics, config))
  if (existsSync('./app/index.html')) app.use('/*', serveStatic({ root: './app' }))
  else logger.warn('web view not built: run npm run build:web')

  const jobCtx = nodeJobContext(config, database.db, logger)
  // A failed schedule, and each org a job failed while finishing the others (runJob), to Sentry.
  if (config.SENTRY_DSN) jobCtx.reportError = (err, tags) => Sentry.captureException(err, { tags })

  // Connect the org from a refresh token (the sandbox admin's in demo mode, else ZOHO_REFRESH_TOKEN)
  // and sync it in the background, so a fresh machine shows data. The demo org is regenerated on
  // every start, so its first sync is a full one (which also sweeps what no longer exists).
  const bootToken = demo?.refreshToken ?? config.ZOHO_REFRESH_TOKEN
  if (bootToken)
    deps.background(
      bootstrapConnection(jobCtx, bootToken).then(({ orgId }) =>
        runOrgSync(jobCtx, orgId, {
          trigger: 'startup',
          ...(demo ? { kind: 'full', historyBudget: config.DEMO_HISTORY_CALLS } : {}),
        }).then((r) => logger.info('start-up sync', { ...r })),
      ),
    )
  const crons = config.SCHEDULER
    ? (Object.entries(nodeSchedules(config)) as [JobName, string][]).map(([name, pattern]) =>
        schedule(pattern, name, () => runJob(name, jobCtx), logger, jobCtx.reportError),
      )
    : []

  // The demo's sign-in page signs anyone in as any sandbox user: loopback only unless HOST says so.
  const hostname = config.HOST ?? (config.demoMode ? '127.0.0.1' : '0.0.0.0')
  const server = serve({ fetch: app.fetch, port: config.PORT, hostname }, (info) =>
    logger.info('listening', {
      url: `http://localhost:${info.port}`,
      host: hostname,
      demo: config.demoMode,
      database: database.kind,
    }),
  )
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EADDRINUSE') throw err
    console.error(`Port ${config.PORT} on ${hostname} is already in use: stop what holds it, or set PORT`)
    process.exit(2)
  })
  const shutdown = () => {
    crons.forEach((c) => c.stop())
    server.close(
      () =>
        void database
          .close()
          .finally(() => void (demo?.close() ?? Promise.resolve()).finally(() => process.exit(0))),
    )
    setTimeout(() => process.exit(0), 5000).unref()
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
}

if (import.meta.url === `file://${process.argv[1]}`) void main()
