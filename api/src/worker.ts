import * as Sentry from '@sentry/cloudflare'
import type { Context } from 'hono'
import { createApp, type App } from './app'
import { loadConfig, type Config } from './config'
import { connectPostgres } from './db/client'
import { runJob } from './jobs'
import { createLogger } from './observability/logger'
import { jobForCron } from './schedules'
import type { AppDeps } from './http/types'

/**
 * Cloudflare Worker entry. Postgres through Hyperdrive, one postgres.js client per request or
 * invocation (I/O objects cannot cross requests; never call end(): see reference/platform.md).
 * Static assets (the built web view) are served by Workers Static Assets before this runs.
 */
export interface Env {
  HYPERDRIVE: Hyperdrive
  [key: string]: unknown
}

function stringVars(env: Env): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => typeof v === 'string')) as Record<
    string,
    string
  >
}

let cached: { app: App; config: Config } | undefined

function appFor(env: Env) {
  if (cached) return cached
  const config = loadConfig(stringVars(env))
  const logger = createLogger(config.LOG_LEVEL)
  const deps: AppDeps = {
    config,
    logger,
    database: (c?: Context) =>
      connectPostgres(((c?.env as Env) ?? env).HYPERDRIVE.connectionString, { max: 5 }),
    fetch: (input, init) => fetch(input, init),
    now: () => new Date(),
    background: (task, c) => (c ? c.executionCtx.waitUntil(task) : void task),
    reportError: (err) => Sentry.captureException(err),
  }
  cached = { app: createApp(deps), config }
  return cached
}

const handler = {
  fetch(request, env, ctx) {
    return appFor(env).app.fetch(request, env, ctx)
  },
  async scheduled(controller, env) {
    const name = jobForCron(controller.cron)
    const { config } = appFor(env)
    const logger = createLogger(config.LOG_LEVEL)
    if (!name) {
      logger.warn('unknown cron', { cron: controller.cron })
      return
    }
    const db = connectPostgres(env.HYPERDRIVE.connectionString, { max: 5 }).db
    // Awaited, not waitUntil: a failed job fails the invocation, so Cloudflare records (and may retry) it.
    await runJob(name, { config, db, logger, fetch: (i, init) => fetch(i, init), now: () => new Date() })
  },
} satisfies ExportedHandler<Env>

export default Sentry.withSentry(
  (env: Env) => ({ dsn: typeof env.SENTRY_DSN === 'string' ? env.SENTRY_DSN : undefined }),
  handler,
)
