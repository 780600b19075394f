/**
 * npm run bench: sync throughput and API cost against the sandbox Zoho org over HTTP on loopback,
 * the machine's own COPY ceiling in the same run, API latency at 1,000,000 deals, a 50-connection
 * load run, and the widget's first-load JS. Prints a table and writes bench-results.json.
 *
 * Env: BENCH_DATABASE_URL (default the local server), BENCH_SYNC_DEALS (100000), BENCH_SYNC_ROUNDS
 * (3: full sync and COPY ceiling in alternation, medians reported), BENCH_API_DEALS (1000000),
 * BENCH_LOAD_SECONDS (30). For work on one part: BENCH_ONLY=sync stops after the syncs;
 * BENCH_KEEP_DB=1 keeps the bench database (its name is printed) for profiling queries by hand;
 * BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each sync process and the sandbox there.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
// @ts-expect-error autocannon ships no types
import autocannon from 'autocannon'
import postgres from 'postgres'
import { signToken } from '../api/src/auth/token'
import { SESSION_COOKIE, SESSION_PURPOSE } from '../api/src/auth/middleware'
import { meResponseSchema } from '../shared/contracts/auth'
import { connectPostgres } from '../api/src/db/client'
import { takeSnapshot } from '../api/src/analytics/snapshot'
import { dealFields } from '../api/src/sync/map'
import { nodeZohoHttp } from '../api/src/zoho/node-http'
import { isLocalDatabase, processCpuMs } from './proc-cpu'
import { freePort } from '../tests/helpers/net'

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const SYNC_DEALS = Number(process.env.BENCH_SYNC_DEALS ?? 100_000)
const API_DEALS = Number(process.env.BENCH_API_DEALS ?? 1_000_000)
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 30)
const REQUESTS = 50
const VIEW_REQUESTS = 20
const SYNC_ROUNDS = Number(process.env.BENCH_SYNC_ROUNDS ?? 3)
const ONLY_SYNC = process.env.BENCH_ONLY === 'sync'
const KEEP_DB = process.env.BENCH_KEEP_DB === '1'
const cpuProf = process.env.BENCH_CPU_PROF
  ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
  : []
const TEST_SIGNING_KEY = 'bench-secret-key-0123456789abcdef'

const results: Record<string, number> = {}
const notes: string[] = []
const children: ChildProcess[] = []
const log = (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`)

function dbUrl(name: string): string {
  const u = new URL(ADMIN_URL)
  u.pathname = `/${name}`
  return u.toString()
}

function run(cmd: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')} exited ${code}: ${err}`)),
    )
  })
}

/** A long-running child that prints one JSON line when ready. */
function startJsonChild(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; info: any }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cpuProf, '--import', 'tsx', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    children.push(child)
    let buf = ''
    child.stdout!.on('data', (d) => {
      buf += d
      const nl = buf.indexOf('\n')
      if (nl >= 0) resolve({ child, info: JSON.parse(buf.slice(0, nl)) })
    })
    child.on('exit', (code) => reject(new Error(`${args[0]} exited ${code}`)))
  })
}

async function startServer(env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'api/src/node.ts'], {
    env: {
      ...process.env,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      SCHEDULER: 'false',
      SECRET_KEY: TEST_SIGNING_KEY,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  children.push(child)
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 600; i++) {
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { url, child }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error('API server did not start')
}

const p = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!
}
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d
const median = (xs: number[]) => p(xs, 0.5)

async function sandboxCalls(sandboxUrl: string) {
  const { calls } = (await (await fetch(`${sandboxUrl}/__sandbox/calls`)).json()) as {
    calls: { service: string; path: string }[]
  }
  const crm = calls.filter((c) => c.service === 'crm')
  return { crm: crm.length, deals: crm.filter((c) => /\/crm\/v8\/Deals$/.test(c.path)).length }
}

/**
 * The heap flags of `npm run sync` (package.json): old space capped; an 8 MB young generation (the
 * default 16 MB gave the same throughput for about 25 MB more RSS); the old space let grow to twice
 * what a full GC keeps (a third of the full GCs, +8% deals/s, about 8 MB more RSS).
 */
const SYNC_HEAP_FLAGS = ['--max-old-space-size=96', '--max-semi-space-size=8', '--heap-growing-percent=100']

async function syncOnce(env: Record<string, string>, kind: 'full' | 'incremental') {
  const out = await run(
    process.execPath,
    [...SYNC_HEAP_FLAGS, ...cpuProf, '--import', 'tsx', 'bench/sync-child.ts'],
    {
      ...env,
      BENCH_KIND: kind,
    },
  )
  const line = out.trim().split('\n').pop()!
  const summary = JSON.parse(line) as {
    status: string
    records: number
    deletions: number
    ms: number
    peakRssMb: number
    stages?: Record<string, number>
    cpuMs?: { user: number; system: number }
    otherCpuMs?: { postgres: number | null; sandbox: number | null }
    error?: string
  }
  // A sync that stopped short would report the throughput of the part it did.
  if (summary.status !== 'succeeded') throw new Error(`${kind} sync ${summary.status}: ${summary.error}`)
  return summary
}

/**
 * Where the last full sync's CPU went: the sync, PostgreSQL and the sandbox Zoho run on the same
 * cores, so their CPU seconds together, over the cores there are, bound its deals/s however well
 * the three overlap.
 */
function cpuBound(s: Awaited<ReturnType<typeof syncOnce>>): string | null {
  const pg = s.otherCpuMs?.postgres
  const zoho = s.otherCpuMs?.sandbox
  if (!s.cpuMs || pg == null || zoho == null) return null
  const sync = s.cpuMs.user + s.cpuMs.system
  const per100k = (ms: number) => round((ms / 1000) * (100_000 / s.records), 2)
  const cores = availableParallelism()
  const bound = s.records / ((sync + pg + zoho) / 1000 / cores)
  return (
    `last full sync's CPU, s per 100,000 deals: sync ${per100k(sync)}, PostgreSQL ${per100k(pg)}, ` +
    `sandbox Zoho ${per100k(zoho)}: on ${cores} cores at most ${round(bound, 0)} deals/s with every ` +
    `core busy all the time; it ran at ${round(s.records / (s.ms / 1000), 0)} (${round((100 * s.records) / (s.ms / 1000) / bound)}% of that)`
  )
}

/**
 * The machine's ceiling: the very rows the sync wrote, loaded again by plain COPY. Also the CPU
 * its PostgreSQL backend spent, per 100,000 rows (null when the server is not local).
 */
async function copyCeiling(url: string): Promise<{ rowsPerS: number; pgCpuPer100k: number | null }> {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  await sql`drop table if exists deals_copy_ceiling`
  await sql`create table deals_copy_ceiling (like deals including all)`
  // The COPY OUT runs on its own connection: postgres.js leaves a connection that served a
  // readable COPY unable to answer the next query (the bench hung here).
  const out = postgres(url, { max: 1, onnotice: () => {} })
  const chunks: Buffer[] = []
  const reader = await out`copy (select * from deals) to stdout`.readable()
  for await (const c of reader) chunks.push(c as Buffer)
  await out.end()
  const { n, pid } = (
    await sql<{ n: number; pid: number }[]>`
    select count(*)::int as n, pg_backend_pid() as pid from deals`
  )[0]!
  const cpuBefore = processCpuMs(pid)
  const started = performance.now()
  const writer = await sql`copy deals_copy_ceiling from stdin`.writable()
  await new Promise<void>((resolve, reject) => {
    writer.on('finish', resolve)
    writer.on('error', reject)
    for (const c of chunks) writer.write(c)
    writer.end()
  })
  const s = (performance.now() - started) / 1000
  const cpuAfter = processCpuMs(pid)
  await sql`drop table deals_copy_ceiling`
  await sql.end()
  const local = isLocalDatabase(url) && cpuBefore !== null && cpuAfter !== null
  return {
    rowsPerS: n / s,
    pgCpuPer100k: local ? round(((cpuAfter - cpuBefore) / 1000) * (100_000 / n), 2) : null,
  }
}

/**
 * The Zoho side's ceiling on this machine: every Deals page the full sync reads, fetched from the
 * sandbox over HTTP with nothing else done (no parsing, no database), one page_token chain, on the
 * sync's own HTTP client (nodeZohoHttp).
 */
async function fetchCeiling(sb: Record<string, string>): Promise<number> {
  const tokenUrl = new URL(`${sb.accountsUrl}/oauth/v2/token`)
  for (const [k, v] of Object.entries({
    grant_type: 'refresh_token',
    client_id: sb.clientId!,
    client_secret: sb.clientSecret!,
    refresh_token: sb.refreshToken!,
  }))
    tokenUrl.searchParams.set(k, v)
  const { access_token } = (await (await fetch(tokenUrl, { method: 'POST' })).json()) as {
    access_token: string
  }
  const started = performance.now()
  let records = 0
  let token: string | undefined
  let since: string | undefined
  let inWindow = 0
  for (;;) {
    const u = new URL(`${sb.apiDomain}/crm/v8/Deals`)
    u.searchParams.set('fields', dealFields(true).join(','))
    u.searchParams.set('per_page', '200')
    u.searchParams.set('sort_by', 'Modified_Time')
    u.searchParams.set('sort_order', 'asc')
    if (token) u.searchParams.set('page_token', token)
    const headers: Record<string, string> = { authorization: `Zoho-oauthtoken ${access_token}` }
    if (since) headers['if-modified-since'] = since
    const text = await (await nodeZohoHttp(u.toString(), { method: 'GET', headers })).text()
    // Only the cursor is read out (a regex, not a parse): the point is the bytes on the wire.
    const count = text.match(/"Modified_Time":"[^"]+"/g) ?? []
    records += count.length
    inWindow += count.length
    if (!/"more_records":true/.test(text)) break
    // Past the 100,000-record page_token cap, a new If-Modified-Since window, as the sync does.
    if (inWindow + 200 > 100_000) {
      since = count.at(-1)!.slice(17, -1)
      token = undefined
      inWindow = 0
    } else token = /"next_page_token":"([^"]+)"/.exec(text)![1]
  }
  return records / ((performance.now() - started) / 1000)
}

/**
 * Grow the synced org to API_DEALS deals by copying its deals under new ids, then snapshot and
 * vacuum. Returns the deals and the last snapshotted day: the API runs may start past midnight.
 */
async function inflate(url: string, orgId: string) {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  const { n } = (await sql<{ n: number }[]>`select count(*)::int as n from deals where org_id = ${orgId}`)[0]!
  const copies = Math.ceil(API_DEALS / n) - 1
  const cols = (
    await sql<{ c: string }[]>`select column_name as c from information_schema.columns
      where table_name = 'deals' and table_schema = current_schema() order by ordinal_position`
  ).map((r) => r.c)
  for (let k = 1; k <= copies; k++) {
    // Same deals under new ids, closing dates spread over the next two months.
    const exprs = cols.map((c) =>
      c === 'id' ? `'${k}' || id` : c === 'closing_date' ? `closing_date + ${k % 60}` : c,
    )
    await sql.unsafe(
      `insert into deals (${cols.join(', ')}) select ${exprs.join(', ')} from deals
       where org_id = $1 and length(id) = 19 limit ${Math.min(n, API_DEALS - n * k)}`,
      [orgId],
    )
  }
  const started = performance.now()
  const history = await addStageHistory(sql, orgId)
  log(`stage history: ${history} rows, ${round((performance.now() - started) / 1000)} s`)
  // As autovacuum would before long: the history's trigger rewrote most deals' rows (their furthest
  // stage), and without a visibility map no query can answer from an index alone.
  await sql`vacuum analyze`
  const { total } = (
    await sql<{ total: number }[]>`select count(*)::int as total from deals where org_id = ${orgId}`
  )[0]!
  await sql.end()
  const database = connectPostgres(url, { max: 2 })
  const today = new Date()
  for (let d = 14; d >= 1; d--) {
    const day = new Date(today.getTime() - d * 86_400_000).toISOString().slice(0, 10)
    await takeSnapshot(database.db, orgId, day)
  }
  await database.close()
  return { total, history, lastDay: new Date(today.getTime() - 86_400_000).toISOString().slice(0, 10) }
}

/**
 * A Stage_History as the backfill leaves it (the bench's syncs skip the backfill, so the synced org
 * has almost none): for each open deal and each deal closed in the last 90 days, a row per open
 * stage up to the one it is in (a lost deal up to one of them), spread from its creation to its last
 * edit (an open deal entered its stage then, a closed one closed then), a closing row for closed deals, and for every third deal a repeated row (an
 * Amount edit, as Zoho records one). About 1.7 rows per deal of the org at 1M deals. The trigger
 * derives the stays and furthest stages as it would from the backfill. Returns the rows written.
 */
async function addStageHistory(sql: postgres.Sql, orgId: string): Promise<number> {
  const [r] = await sql<{ n: number }[]>`
    with o as (
      select display_value, row_number() over (order by sequence)::int as rk
      from stages where org_id = ${orgId} and used and state = 'open'
    ), d as (
      select d.id, d.state, d.stage, d.created_time, d.modified_time as last_at,
             case when d.state = 'open' then coalesce((select rk from o where o.display_value = d.stage), 1)
                  when d.state = 'won' then (select max(rk) from o)
                  else 1 + abs(hashtext(d.id)) % (select max(rk) from o) end as top
      from deals d
      where d.org_id = ${orgId}
        and (d.state = 'open' or (d.state in ('won', 'lost') and d.closing_date >= current_date - 90))
    ), rows as (
      select d.id, o.display_value as stage,
             d.created_time + (d.last_at - d.created_time)
               * ((o.rk - 1)::float8 / greatest(d.top - case when d.state = 'open' then 1 else 0 end, 1)) as at
      from d join o on o.rk <= d.top
      union all
      select d.id, d.stage, d.last_at from d where d.state <> 'open'
      union all
      select d.id, o.display_value, d.created_time + (d.last_at - d.created_time) / (2 * d.top + 1)
      from d join o on o.rk = 1 where abs(hashtext(d.id)) % 3 = 0
    ), ins as (
      insert into stage_history (org_id, deal_id, stage, entered_at, source)
      select ${orgId}, id, stage, at, 'zoho' from rows
      on conflict do nothing
      returning 1
    )
    select count(*)::int as n from ins`
  return r!.n
}

async function cookieFor(orgId: string, userId: string) {
  const token = await signToken(TEST_SIGNING_KEY, SESSION_PURPOSE, {
    orgId,
    userId,
    exp: Math.floor(Date.now() / 1000) + 7200,
  })
  return `${SESSION_COOKIE}=${token}`
}

/** The org's current quarter as the UI sends it (`from=…&to=…`, from /me's periods.thisQuarter). */
async function thisQuarter(apiUrl: string, cookie: string): Promise<string> {
  const res = await fetch(`${apiUrl}/api/v1/me`, { headers: { cookie } })
  if (!res.ok) throw new Error(`/api/v1/me → ${res.status} ${await res.text()}`)
  const { from, to } = meResponseSchema.parse(await res.json()).org.periods.thisQuarter
  return new URLSearchParams({ from, to }).toString()
}

async function timeRequest(url: string, cookie: string, firstByteOnly = false): Promise<number> {
  const started = performance.now()
  const res = await fetch(url, { headers: { cookie } })
  if (!res.ok) throw new Error(`${url} → ${res.status} ${await res.text()}`)
  if (firstByteOnly) {
    const reader = res.body!.getReader()
    await reader.read()
    const ms = performance.now() - started
    await reader.cancel()
    return ms
  }
  await res.arrayBuffer()
  return performance.now() - started
}

function widgetFirstJsGzKb(): number {
  const html = readFileSync('app/widget.html', 'utf8')
  const srcs = [
    ...html.matchAll(/<script[^>]+src="([^"]+)"/g),
    ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"/g),
  ]
    .map((m) => m[1]!)
    .filter((s) => !/^https?:/.test(s))
  const bytes = srcs.reduce(
    (sum, s) => sum + gzipSync(readFileSync(join('app', s.replace(/^\.\//, '')))).length,
    0,
  )
  return bytes / 1024
}

function printSync() {
  for (const [k, v] of Object.entries(results)) console.log(`  ${k.padEnd(34)} ${v}`)
  console.log(
    `  sync vs COPY ceiling: ${round((100 * results.sync_full_deals_per_s!) / results.ingest_ceiling_rows_per_s!)}%`,
  )
  for (const n of notes) console.log(`  note: ${n}`)
}

async function main() {
  const benchStarted = performance.now()
  const dbName = `pp_bench_${process.pid}`
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${dbName}`)
  const url = dbUrl(dbName)
  const pgliteDir = mkdtempSync(join(tmpdir(), 'pp-bench-'))
  try {
    log(`sandbox with ${SYNC_DEALS} deals`)
    const { info: sb, child: sandbox } = await startJsonChild([
      'api/src/sandbox/cli.ts',
      '--deals',
      String(SYNC_DEALS),
    ])
    const zohoEnv = {
      ZOHO_CLIENT_ID: sb.clientId,
      ZOHO_CLIENT_SECRET: sb.clientSecret,
      ZOHO_ACCOUNTS_URL: sb.accountsUrl,
      ZOHO_API_DOMAIN: sb.apiDomain,
      ZOHO_REFRESH_TOKEN: sb.refreshToken,
      CURRENCY_API_URL: sb.fxUrl,
      CURRENCY_API_KEY: sb.fxApiKey,
      SECRET_KEY: TEST_SIGNING_KEY,
      LOG_LEVEL: 'warn',
      // The hourly call budget guards a real org's Zoho API credits; the sandbox has none to guard,
      // and a full sync of BENCH_SYNC_DEALS=1000000 takes 5,009 calls.
      API_RATE_LIMIT_PER_HOUR: '1000000',
      BENCH_SANDBOX_PID: String(sandbox.pid),
    }

    // This shared VM's speed drifts from run to run (the COPY ceiling alone measured 46k to 72k
    // rows/s within an hour), so the full sync and the ceiling are measured in alternation, each
    // round into a fresh database, and the medians are reported; every round is printed.
    const rounds: { syncPerS: number; ceiling: number; rssMb: number }[] = []
    let full: Awaited<ReturnType<typeof syncOnce>> | undefined
    let fullCalls = { crm: 0, deals: 0 }
    let copyPgCpu: number | null = null
    for (let r = 1; r <= SYNC_ROUNDS; r++) {
      if (r > 1) {
        await admin.unsafe(`drop database ${dbName} with (force)`)
        await admin.unsafe(`create database ${dbName}`)
      }
      log(`full sync into PostgreSQL (round ${r} of ${SYNC_ROUNDS})`)
      await fetch(`${sb.url}/__sandbox/calls`, { method: 'DELETE' })
      full = await syncOnce({ ...zohoEnv, DATABASE_URL: url }, 'full')
      fullCalls = await sandboxCalls(sb.url)
      log('COPY ceiling')
      const copy = await copyCeiling(url)
      copyPgCpu = copy.pgCpuPer100k
      rounds.push({
        syncPerS: full.records / (full.ms / 1000),
        ceiling: copy.rowsPerS,
        rssMb: full.peakRssMb,
      })
    }
    results.sync_full_deals = full!.records
    results.sync_full_deals_per_s = round(median(rounds.map((x) => x.syncPerS)), 0)
    results.sync_full_zoho_calls = fullCalls.crm
    results.sync_full_deals_calls = fullCalls.deals
    results.sync_peak_rss_mb = round(Math.max(...rounds.map((x) => x.rssMb)))
    results.ingest_ceiling_rows_per_s = round(median(rounds.map((x) => x.ceiling)), 0)
    notes.push(
      `full sync / COPY ceiling by round: ${rounds
        .map(
          (x) =>
            `${round(x.syncPerS, 0)} / ${round(x.ceiling, 0)} (${round((100 * x.syncPerS) / x.ceiling)}%, ${round(x.rssMb)} MB)`,
        )
        .join(', ')}`,
    )
    notes.push(
      `last full sync's stage wall times (ms, fetch overlaps writes): ${JSON.stringify(full!.stages ?? {})}`,
    )
    notes.push(`last full sync's process CPU (ms): ${JSON.stringify(full!.cpuMs ?? {})}`)
    const cpuNote = cpuBound(full!)
    if (cpuNote) notes.push(cpuNote)
    if (copyPgCpu !== null) notes.push(`last COPY ceiling's PostgreSQL CPU: ${copyPgCpu} s per 100,000 rows`)

    log('fetch ceiling')
    results.zoho_fetch_ceiling_deals_per_s = round(await fetchCeiling(sb), 0)

    log('incremental sync')
    const mutate = { edits: 1000, deletes: 200, creates: 300 }
    await fetch(`${sb.url}/__sandbox/mutate`, {
      method: 'POST',
      body: JSON.stringify(mutate),
      headers: { 'content-type': 'application/json' },
    })
    await fetch(`${sb.url}/__sandbox/calls`, { method: 'DELETE' })
    const inc = await syncOnce({ ...zohoEnv, DATABASE_URL: url }, 'incremental')
    results.sync_incremental_changes = mutate.edits + mutate.deletes + mutate.creates
    results.sync_incremental_zoho_calls = (await sandboxCalls(sb.url)).crm
    results.sync_incremental_ms = round(inc.ms, 0)
    results.sync_peak_rss_mb = round(Math.max(results.sync_peak_rss_mb, inc.peakRssMb))
    notes.push(`incremental sync peak RSS: ${round(inc.peakRssMb)} MB`)

    log('full sync into PGlite')
    const pgl = await syncOnce({ ...zohoEnv, DATA_DIR: pgliteDir }, 'full')
    results.pglite_sync_full_deals_per_s = round(pgl.records / (pgl.ms / 1000), 0)
    results.pglite_sync_peak_rss_mb = round(pgl.peakRssMb)

    if (ONLY_SYNC) return printSync()
    log(`growing to ${API_DEALS} deals and taking snapshots`)
    const grown = await inflate(url, sb.orgId)
    results.api_deals = grown.total
    results.api_stage_history_rows = grown.history
    if (KEEP_DB) log(`org ${sb.orgId}, admin ${sb.adminUserId}`)
    const sql = postgres(url, { max: 1 })
    const [rep] = await sql<{ owner_id: string }[]>`
      select owner_id from deals where org_id = ${sb.orgId} group by owner_id order by count(*) desc limit 1`
    // The deal the views' timing opens.
    const [deal] = await sql<{ id: string }[]>`
      select id from deals where org_id = ${sb.orgId} and state = 'open' limit 1`
    await sql.end()
    const adminCookie = await cookieFor(sb.orgId, sb.adminUserId)
    const repCookie = await cookieFor(sb.orgId, rep!.owner_id)

    log('API latency')
    const api = await startServer({ DATABASE_URL: url, ZOHO_CLIENT_ID: 'bench', ZOHO_CLIENT_SECRET: 'bench' })
    // Trend and waterfall ask within the snapshotted days (inflate's, up to its yesterday).
    const today = grown.lastDay
    const monthAgo = new Date(Date.parse(today) - 9 * 86_400_000).toISOString().slice(0, 10)
    const endpoints: [string, string, boolean][] = [
      ['summary', '/api/v1/pipeline/summary', false],
      ['by_stage', '/api/v1/pipeline/by-stage', false],
      ['by_owner', '/api/v1/pipeline/by-owner', false],
      ['forecast', '/api/v1/forecast?period=quarter', false],
      ['trend', `/api/v1/trend?from=${monthAgo}&to=${today}`, false],
      ['waterfall', `/api/v1/waterfall?from=${monthAgo}&to=${today}`, false],
      ['funnel', '/api/v1/funnel', false],
      ['deals_page', '/api/v1/deals?limit=50', false],
      ['csv_first_byte', '/api/v1/exports/deals.csv', true],
    ]
    const latency: Record<string, number> = {}
    for (const [name, path, firstByte] of endpoints) {
      for (const [who, cookie] of [
        ['admin', adminCookie],
        ['rep', repCookie],
      ] as const) {
        await timeRequest(api.url + path, cookie, firstByte) // warm
        const times: number[] = []
        for (let i = 0; i < REQUESTS; i++) times.push(await timeRequest(api.url + path, cookie, firstByte))
        latency[`${name}_${who}`] = round(p(times, 0.95))
      }
    }
    results.api_summary_p95_ms = Math.max(latency.summary_admin!, latency.summary_rep!)
    results.api_metrics_p95_ms_max = Math.max(...Object.values(latency))
    for (const [k, v] of Object.entries(latency)) results[`api_p95_ms_${k}`] = v

    // The other views' queries, outside #8's list and its targets (read live, not from rollups),
    // over VIEW_REQUESTS each: reported so a slow one shows. Asked as the UI first asks them
    // (widget/src/views): time in stage with the period it sends, the org's current quarter from
    // /me (asked without one, it once took a faster path than the UI's and hid a slow one); risk's
    // first 200. Velocity is the API's alone.
    const quarter = await thisQuarter(api.url, adminCookie)
    const views: [string, string][] = [
      ['risk', '/api/v1/risk?limit=200'],
      ['quality', '/api/v1/quality'],
      ['time_in_stage', `/api/v1/time-in-stage?${quarter}`],
      ['velocity', '/api/v1/velocity'],
      ['deal', `/api/v1/deals/${deal!.id}`],
    ]
    const viewLatency: number[] = []
    for (const [name, path] of views) {
      // The deal is in the admin's scope, not necessarily the rep's.
      for (const [who, cookie] of name === 'deal'
        ? [['admin', adminCookie] as const]
        : ([
            ['admin', adminCookie],
            ['rep', repCookie],
          ] as const)) {
        await timeRequest(api.url + path, cookie) // warm
        const times: number[] = []
        for (let i = 0; i < VIEW_REQUESTS; i++) times.push(await timeRequest(api.url + path, cookie))
        const v = round(p(times, 0.95))
        results[`api_p95_ms_view_${name}_${who}`] = v
        viewLatency.push(v)
      }
    }
    results.api_views_p95_ms_max = Math.max(...viewLatency)

    log(`load: 50 connections for ${LOAD_SECONDS}s`)
    const load = await autocannon({
      url: api.url,
      connections: 50,
      duration: LOAD_SECONDS,
      requests: [
        { method: 'GET', path: '/api/v1/pipeline/summary', headers: { cookie: adminCookie } },
        { method: 'GET', path: '/api/v1/deals?limit=50', headers: { cookie: repCookie } },
      ],
    })
    results.load_requests_per_s = round(load.requests.average, 0)
    results.load_p99_ms = load.latency.p99
    results.load_errors = load.errors + load.non2xx + load.timeouts
    api.child.kill('SIGTERM')

    log('PGlite API latency (synced org)')
    const pglApi = await startServer({
      DATA_DIR: pgliteDir,
      ZOHO_CLIENT_ID: 'bench',
      ZOHO_CLIENT_SECRET: 'bench',
    })
    const times: number[] = []
    for (let i = 0; i < REQUESTS; i++)
      times.push(await timeRequest(pglApi.url + '/api/v1/pipeline/summary', adminCookie))
    results.pglite_api_deals = pgl.records
    results.pglite_api_summary_p95_ms = round(p(times, 0.95))
    pglApi.child.kill('SIGTERM')

    results.widget_first_js_gz_kb = round(widgetFirstJsGzKb())
    results.bench_seconds = round((performance.now() - benchStarted) / 1000, 0)
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM')
    await new Promise((r) => setTimeout(r, 500))
    if (KEEP_DB) log(`kept database ${dbName}`)
    else await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch(() => {})
    await admin.end()
    rmSync(pgliteDir, { recursive: true, force: true })
  }

  const targets: [string, string, boolean][] = [
    [
      'sync vs COPY ceiling',
      `${round((100 * results.sync_full_deals_per_s!) / results.ingest_ceiling_rows_per_s!)}% (≥ 60%)`,
      results.sync_full_deals_per_s! >= 0.6 * results.ingest_ceiling_rows_per_s!,
    ],
    [
      'full sync Zoho calls',
      `${results.sync_full_zoho_calls} (≤ ${Math.ceil(results.sync_full_deals! / 200) + 10})`,
      results.sync_full_zoho_calls! <= Math.ceil(results.sync_full_deals! / 200) + 10,
    ],
    [
      'incremental Zoho calls',
      `${results.sync_incremental_zoho_calls} (≤ ${Math.ceil(results.sync_incremental_changes! / 200) + 3})`,
      results.sync_incremental_zoho_calls! <= Math.ceil(results.sync_incremental_changes! / 200) + 3,
    ],
    ['sync peak RSS', `${results.sync_peak_rss_mb} MB (≤ 200)`, results.sync_peak_rss_mb! <= 200],
    ['summary p95', `${results.api_summary_p95_ms} ms (≤ 50)`, results.api_summary_p95_ms! <= 50],
    [
      'slowest metric p95',
      `${results.api_metrics_p95_ms_max} ms (≤ 200)`,
      results.api_metrics_p95_ms_max! <= 200,
    ],
    ['load errors', `${results.load_errors} (0)`, results.load_errors === 0],
    [
      'widget first-load JS',
      `${results.widget_first_js_gz_kb} KB gz (≤ 45)`,
      results.widget_first_js_gz_kb! <= 45,
    ],
  ]
  console.log('\nPipeline Pulse bench\n')
  for (const [k, v] of Object.entries(results)) console.log(`  ${k.padEnd(34)} ${v}`)
  console.log('\nTargets\n')
  for (const [name, value, ok] of targets)
    console.log(`  ${ok ? 'PASS' : 'MISS'}  ${name.padEnd(26)} ${value}`)
  for (const n of notes) console.log(`  note: ${n}`)
  writeFileSync(
    'bench-results.json',
    JSON.stringify(
      { at: new Date().toISOString(), machine: '2 cores, Node 20, PostgreSQL 15', ...results },
      null,
      2,
    ) + '\n',
  )
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM')
    process.exit(1)
  },
)
