import type { Job } from '../jobs'
import { syncAllOrgs } from './run'
import { ensureWatchChannel } from './watch-channels'

/**
 * Scheduled sync (Node every SYNC_INTERVAL_MINUTES, Worker cron): an incremental sync of every
 * connected org, full when never synced. Each invocation is bounded (under the 15-minute cron wall
 * clock); a run that does not finish stops at its checkpoint and the next invocation continues it.
 */
export const JOB_TIME_BUDGET_MS = 10 * 60_000

export const syncJob: Job = async (ctx) => {
  const results = await syncAllOrgs(ctx, { trigger: 'cron', timeBudgetMs: JOB_TIME_BUDGET_MS })
  // Zoho Watch channels when PUBLIC_URL is set (never throws: failures are logged).
  for (const r of results) await ensureWatchChannel(ctx, r.orgId)
  const failed = results.filter((r) => r.status === 'failed')
  if (failed.length && failed.length === results.length)
    throw new Error(`Sync failed for every org: ${failed.map((f) => `${f.orgId}: ${f.error}`).join('; ')}`)
  return {
    orgs: results.length,
    succeeded: results.filter((r) => r.status === 'succeeded').length,
    stopped: results.filter((r) => r.status === 'stopped').length,
    busy: results.filter((r) => r.status === 'busy').length,
    failed: failed.length,
    apiCalls: results.reduce((n, r) => n + (r.apiCalls ?? 0), 0),
    // Named for the logs and the error tracker (runJob reports each one).
    ...(failed.length
      ? { failedOrgs: failed.map((f) => ({ orgId: f.orgId, error: f.error ?? 'failed' })) }
      : {}),
  }
}
