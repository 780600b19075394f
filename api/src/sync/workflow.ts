import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from 'cloudflare:workers'
import * as Sentry from '@sentry/cloudflare'
import { loadConfig } from '../config'
import { connectPostgres } from '../db/client'
import { createLogger } from '../observability/logger'
import { runOrgSync, type OrgSyncSummary } from './run'

/**
 * Cloudflare Workflow that drives one org's sync on Workers: every step is a fresh, retried
 * invocation that resumes the org's open run from its stored checkpoint and runs a bounded number of
 * pages, so no invocation is unbounded and a deploy or crash loses at most one step's work.
 */
export interface SyncWorkflowParams {
  orgId: string
  trigger: 'cron' | 'manual'
}

/** Pages per step: ~20 Zoho calls and page upserts, well inside one invocation's CPU and subrequests. */
export const PAGES_PER_STEP = 20
const MAX_STEPS = 5_000
/** A busy org (another holder) is retried this often, this many times in a row (a Watch run takes ≤ 20 s). */
const BUSY_WAIT = '15 seconds'
const MAX_BUSY_WAITS = 8

export class SyncWorkflow extends WorkflowEntrypoint<Record<string, unknown>, SyncWorkflowParams> {
  override async run(event: WorkflowEvent<SyncWorkflowParams>, step: WorkflowStep): Promise<OrgSyncSummary> {
    const env = this.env as { HYPERDRIVE: Hyperdrive } & Record<string, unknown>
    const vars = Object.fromEntries(Object.entries(env).filter(([, v]) => typeof v === 'string')) as Record<
      string,
      string
    >
    let last: OrgSyncSummary | undefined
    let busyWaits = 0
    for (let i = 0; i < MAX_STEPS; i++) {
      const name = `sync ${event.payload.orgId} step ${i}`
      last = await step.do(
        name,
        { retries: { limit: 5, delay: '10 seconds', backoff: 'exponential' }, timeout: '10 minutes' },
        reportingFailures({ org_id: event.payload.orgId, workflow_step: name }, async () => {
          const config = loadConfig(vars)
          // One client per step, closed when the step ends: a step may run in its own invocation
          // (a client cannot cross invocations), and sockets left open would pile up within one
          // (Workers allow 6 open connections per invocation).
          const database = connectPostgres(env.HYPERDRIVE.connectionString, { max: 5 })
          try {
            const logger = createLogger(config.LOG_LEVEL)
            const ctx = {
              config,
              db: database.db,
              logger,
              fetch: (i: RequestInfo | URL, init?: RequestInit) => fetch(i, init),
              now: () => new Date(),
            }
            const summary = await runOrgSync(ctx, event.payload.orgId, {
              trigger: event.payload.trigger,
              maxPages: PAGES_PER_STEP,
            })
            // A live holder elsewhere: nothing to do here; a failure: let the step retry it.
            if (summary.status === 'failed') throw new Error(summary.error ?? 'sync failed')
            return JSON.parse(JSON.stringify(summary)) as OrgSyncSummary
          } finally {
            await database.close().catch(() => {})
          }
        }),
      )
      // Another holder has the org between two of this run's steps (a Watch run, a manual sync's
      // hand-off): wait for it rather than leave the run to the next cron, 15 minutes on.
      if (last.status === 'busy' && busyWaits < MAX_BUSY_WAITS) {
        busyWaits++
        await step.sleep(`${event.payload.orgId} busy ${i}`, BUSY_WAIT)
        continue
      }
      busyWaits = 0
      // A paused run (Zoho calls spent: the reason is in `error`) waits for a later cron, not a loop.
      if (last.status !== 'stopped' || last.error) break
    }
    return last!
  }
}

/**
 * A step's attempt that throws is reported to Sentry (SENTRY_DSN set: worker.ts instruments this
 * class), then rethrown so the Workflow retries it. Every attempt, not only the last: the SDK's own
 * capture waits for the final one, minutes of backoff later.
 */
function reportingFailures<T>(tags: Record<string, string>, attempt: () => Promise<T>): () => Promise<T> {
  return async () => {
    try {
      return await attempt()
    } catch (err) {
      Sentry.captureException(err, { tags })
      throw err
    }
  }
}
