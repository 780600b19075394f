import { parseArgs } from 'node:util'
import { ConfigError, loadConfig, type Config } from '../config'
import { runFx } from '../fx/job'
import { createLogger } from '../observability/logger'
import { openDatabase, startDemo } from '../node'
import { nodeJobContext } from '../node-context'
import { bootstrapConnection } from './bootstrap'
import { syncAllOrgs, type OrgSyncSummary } from './run'
import type { SyncContext } from './session'

/**
 * `npm run sync`: applies pending migrations, refreshes FX when due (runFx, onlyIfDue),
 * then syncs Deals of every connected org (incremental; full when never synced), prints one line
 * per org and exits 0 when every org finished, 1 otherwise.
 *
 * Options: --full, --max-pages N (stop at a checkpoint after N steps), --history N (Stage_History
 * calls this run, 0 skips), --per-page N, --lease-seconds N, --quiet.
 */

function line(s: OrgSyncSummary): string {
  const parts = [`org ${s.orgId}: ${s.status}`]
  if (s.kind) parts.push(s.kind)
  if (s.records !== undefined)
    parts.push(`${s.records} records`, `${s.deletions} deletions`, `${s.pages} pages`)
  if (s.apiCalls !== undefined) parts.push(`${s.apiCalls} API calls (${s.historyCalls} Stage_History)`)
  if (s.runId) parts.push(`run ${s.runId}`)
  if (s.error) parts.push(`error: ${s.error}`)
  return parts.join(', ')
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      full: { type: 'boolean', default: false },
      'max-pages': { type: 'string' },
      history: { type: 'string' },
      'per-page': { type: 'string' },
      'lease-seconds': { type: 'string' },
      quiet: { type: 'boolean', default: false },
    },
  })
  // Bad options stop before anything runs, as bad configuration does.
  const opts: Record<string, number | undefined> = {}
  for (const name of ['max-pages', 'history', 'per-page', 'lease-seconds'] as const) {
    const v = values[name]
    if (v !== undefined && !/^\d+$/.test(v)) {
      console.error(`--${name} must be a whole number, not ${JSON.stringify(v)}`)
      return 2
    }
    opts[name] = v === undefined ? undefined : Number(v)
  }
  let config: Config
  try {
    config = loadConfig(process.env)
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message)
      return 2
    }
    throw e
  }
  const logger = createLogger(values.quiet ? 'warn' : config.LOG_LEVEL)
  let demo: Awaited<ReturnType<typeof startDemo>> | undefined
  if (config.demoMode) {
    demo = await startDemo(config, logger)
    config = demo.config
  }
  const database = await openDatabase(config)
  try {
    const ctx: SyncContext = nodeJobContext(config, database.db, logger)
    const token = demo?.refreshToken ?? config.ZOHO_REFRESH_TOKEN
    if (token) await bootstrapConnection(ctx, token)
    // The weekly set only when due: each run would otherwise spend a call of the provider's quota.
    const fx = await runFx(ctx, { onlyIfDue: true })
    if (fx.error)
      logger.warn('FX refresh failed; deals are priced with the rate sets stored', { err: fx.error })
    const results = await syncAllOrgs(ctx, {
      trigger: 'cli',
      kind: values.full ? 'full' : undefined,
      maxPages: opts['max-pages'],
      historyBudget: opts.history,
      perPage: opts['per-page'],
      leaseSeconds: opts['lease-seconds'],
    })
    if (!results.length) console.log('No connected Zoho org: connect one as admin or set ZOHO_REFRESH_TOKEN')
    for (const r of results) console.log(line(r))
    return results.length && results.every((r) => r.status === 'succeeded') ? 0 : 1
  } finally {
    await database.close()
    await demo?.close()
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  },
)
