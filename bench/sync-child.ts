/**
 * One sync in its own process so the bench can read this process's peak RSS. Env: the product's
 * config (DATABASE_URL or DATA_DIR, ZOHO_*, CURRENCY_*) plus BENCH_KIND=full|incremental and
 * BENCH_SANDBOX_PID. Prints one JSON line: the sync summary, wall time, peak RSS, stage times, and
 * the CPU time of the sync, of PostgreSQL (a local server) and of the sandbox during the sync.
 */
import { readFileSync } from 'node:fs'
import { loadConfig } from '../api/src/config'
import { connectPostgres, query } from '../api/src/db/client'
import { connectPglite } from '../api/src/db/pglite'
import { nodePostgresOptions } from '../api/src/db/postgres-node'
import { runMigrations } from '../api/src/db/migrate'
import { createLogger } from '../api/src/observability/logger'
import { bootstrapConnection } from '../api/src/sync/bootstrap'
import { stageTimes } from '../api/src/sync/engine'
import { runOrgSync } from '../api/src/sync/run'
import { runJob, JOBS } from '../api/src/jobs'
import { nodeJobContext } from '../api/src/node-context'
import { isLocalDatabase, parentPid, processCpuMs, processTreeCpuMs } from './proc-cpu'
import { sql } from 'drizzle-orm'

const config = loadConfig(process.env)
const logger = createLogger('warn')
const database = config.DATABASE_URL
  ? connectPostgres(config.DATABASE_URL, nodePostgresOptions)
  : await connectPglite(config.DATA_DIR)
await runMigrations(database)
const ctx = nodeJobContext(config, database.db, logger)
if (JOBS.fx) await runJob('fx', ctx)
const { orgId } = await bootstrapConnection(ctx, config.ZOHO_REFRESH_TOKEN!)
const kind = process.env.BENCH_KIND === 'incremental' ? 'incremental' : 'full'
// PostgreSQL's CPU: its postmaster's whole process tree (a local server only; null otherwise).
const postmaster =
  database.kind === 'postgres' && isLocalDatabase(config.DATABASE_URL ?? '')
    ? parentPid((await query<{ pid: number }>(database.db, sql`select pg_backend_pid() as pid`))[0]!.pid)
    : null
const sandboxPid = Number(process.env.BENCH_SANDBOX_PID) || null
const others = () => ({
  postgres: postmaster ? processTreeCpuMs(postmaster) : null,
  sandbox: sandboxPid ? processCpuMs(sandboxPid) : null,
})
const othersBefore = others()
const started = performance.now()
const cpuBefore = process.cpuUsage()
const summary = await runOrgSync(ctx, orgId, { trigger: 'cli', kind, historyBudget: 0 })
const ms = performance.now() - started
const cpu = process.cpuUsage(cpuBefore)
const othersAfter = others()
const delta = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a)
const otherCpuMs = {
  postgres: delta(othersBefore.postgres, othersAfter.postgres),
  sandbox: delta(othersBefore.sandbox, othersAfter.sandbox),
}
await database.close()
const stages = Object.fromEntries(Object.entries(stageTimes).map(([k, v]) => [k, Math.round(v)]))
const cpuMs = { user: Math.round(cpu.user / 1000), system: Math.round(cpu.system / 1000) }

/**
 * This process's peak RSS. Linux's getrusage maxRSS carries the spawning process's high-water mark
 * over exec, so it showed the bench's own RSS (the COPY ceiling's rows: 420 MB at 1,000,000 deals);
 * VmHWM belongs to this process image alone.
 */
function peakRssMb(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))
    if (hwm) return Number(hwm[1]) / 1024
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024
}

console.log(JSON.stringify({ ...summary, ms, peakRssMb: peakRssMb(), stages, cpuMs, otherCpuMs }))
