import * as Sentry from '@sentry/cloudflare'
import type { Context } from 'hono'
import { createApp, type App } from './app'
import { loadConfig, type Config } from './config'
import { connectPostgres } from './db/client'
import { runJob } from './jobs'
import { createLogger } from './observability/logger'
import { jobForCron } from './schedules'
import { connectedOrgs } from './sync/run'
import { ensureWatchChannel } from './sync/watch-channels'
import { SyncWorkflow as SyncWorkflowSteps, type SyncWorkflowParams } from './sync/workflow'
import type { AppDeps } from './http/types'

/**
 * Cloudflare Worker entry. Postgres through Hyperdrive, one postgres.js client per request or
 * invocation (I/O objects cannot cross requests; never call end(): see reference/platform.md).
 * Static assets (the built web view) are served by Workers Static Assets before this runs.
 */
export interface Env {
  HYPERDRIVE: Hyperdrive
  /** Drives long syncs one bounded, retried step at a time (wrangler.toml [[workflows]]). */
  SYNC_WORKFLOW?: Workflow<SyncWorkflowParams>
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
    startSyncWorkflow: async (c, orgId) => {
      const wf = (c.env as Env).SYNC_WORKFLOW
      if (!wf) throw new Error('SYNC_WORKFLOW binding is missing from wrangler.toml')
      await wf.create({ params: { orgId, trigger: 'manual' } })
    },
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
    // On this invocation's Sentry scope (withSentry below): an uncaught failure carries them.
    Sentry.setTags({ cron: controller.cron, job: name ?? 'unknown' })
    let logger = createLogger('info')
    try {
      const { config } = appFor(env)
      logger = createLogger(config.LOG_LEVEL)
      if (!name) {
        logger.warn('unknown cron', { cron: controller.cron })
        return
      }
      const db = connectPostgres(env.HYPERDRIVE.connectionString, { max: 5 }).db
      const ctx = {
        config,
        db,
        logger,
        fetch: (i: RequestInfo | URL, init?: RequestInit) => fetch(i, init),
        now: () => new Date(),
        // A partial job's failed orgs (see runJob); flushed with the invocation by withSentry.
        reportError: (err: unknown, tags: Record<string, string>) => Sentry.captureException(err, { tags }),
      }
      if (name === 'sync' && env.SYNC_WORKFLOW) {
        // One Workflow instance per org; each resumes the org's open run from its checkpoint.
        const orgs = await connectedOrgs(db)
        for (const orgId of orgs) await env.SYNC_WORKFLOW.create({ params: { orgId, trigger: 'cron' } })
        // Zoho Watch channels (PUBLIC_URL set), created and renewed here as Node's sync job does.
        for (const orgId of orgs) await ensureWatchChannel(ctx, orgId)
        return
      }
      // Awaited, not waitUntil: a failed job fails the invocation, so Cloudflare records (and may retry) it.
      await runJob(name, ctx)
    } catch (err) {
      logger.error('scheduled invocation failed', { cron: controller.cron, err })
      throw err
    }
  },
} satisfies ExportedHandler<Env>

/** Sentry when SENTRY_DSN is set; without it the SDK sends nothing. */
const sentryOptions = (env: Record<string, unknown>) => ({
  dsn: typeof env.SENTRY_DSN === 'string' ? env.SENTRY_DSN : undefined,
  // As on Node: events say which deployment they came from (config's default when unset).
  environment: typeof env.APP_ENV === 'string' ? env.APP_ENV : 'development',
})

// Sentry wraps fetch (request context) and scheduled (captures an uncaught failure), flushing each
// invocation's events through waitUntil before it ends.
export default Sentry.withSentry(sentryOptions, handler)

// The sync Workflow's steps report each failed attempt to the Sentry client this sets up and flushes.
export const SyncWorkflow = Sentry.instrumentWorkflowWithSentry(sentryOptions, SyncWorkflowSteps)
