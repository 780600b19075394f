import type { Config } from './config'
import type { Db } from './db/client'
import type { Logger } from './observability/logger'
import type { JobName } from './schedules'
import type { ZohoHttp } from './zoho/client'
import { snapshotJob } from './analytics/snapshot'
import { syncJob } from './sync/job'
import { fxJob } from './fx/job'

/** What a scheduled job gets, on either runtime. */
export interface JobContext {
  config: Config
  db: Db
  logger: Logger
  fetch: typeof fetch
  /** The Zoho CRM calls' HTTP when not fetch (Node: nodeZohoHttp). */
  zohoHttp?: ZohoHttp
  now(): Date
  /** Sends an error to the error tracker (Workers: Sentry when SENTRY_DSN is set), with tags. */
  reportError?(err: unknown, tags: Record<string, string>): void
}

export type Job = (ctx: JobContext) => Promise<Record<string, unknown>>

/** Each concern registers its scheduled job here (sync, fx, snapshot). */
export const JOBS: Partial<Record<JobName, Job>> = {}
JOBS.snapshot = snapshotJob
JOBS.sync = syncJob
JOBS.fx = fxJob

export async function runJob(name: JobName, ctx: JobContext): Promise<Record<string, unknown>> {
  const job = JOBS[name]
  if (!job) throw new Error(`No job registered for ${name}`)
  const started = Date.now()
  ctx.logger.info('job start', { job: name })
  try {
    const result = await job(ctx)
    // A job that carried on past some failures (an org's sync or snapshot) says so at warn level.
    const partial = typeof result.failed === 'number' && result.failed > 0
    ctx.logger[partial ? 'warn' : 'info']('job done', { job: name, ms: Date.now() - started, ...result })
    if (partial) reportFailedOrgs(name, result, ctx)
    return result
  } catch (err) {
    ctx.logger.error('job failed', { job: name, ms: Date.now() - started, err })
    throw err
  }
}

/**
 * A partial job's failed orgs (the `failedOrgs` its result lists: the snapshot job's) to the error
 * tracker, one error each: the invocation itself succeeded, so nothing else reports them.
 */
function reportFailedOrgs(name: JobName, result: Record<string, unknown>, ctx: JobContext) {
  if (!ctx.reportError || !Array.isArray(result.failedOrgs)) return
  for (const f of result.failedOrgs as { orgId: string; error: string }[])
    ctx.reportError(new Error(`${name} job failed for org ${f.orgId}: ${f.error}`), {
      job: name,
      org_id: f.orgId,
    })
}
