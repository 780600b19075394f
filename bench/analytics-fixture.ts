/**
 * Analytics latency at scale, in-process: a PostgreSQL database holding the seeded test org grown to
 * N deals with two weeks of daily snapshots, then p95 of each analytics endpoint through
 * createApp + app.request as an admin (whole org) and as a rep.
 *
 *   npx tsx bench/analytics-fixture.ts build     # create/refresh the database (BENCH_DEALS, 1,000,000)
 *   npx tsx bench/analytics-fixture.ts refresh   # rebuild the rollups only
 *   npx tsx bench/analytics-fixture.ts measure   # time the endpoints (BENCH_REQUESTS, 50)
 *   npx tsx bench/analytics-fixture.ts explain <endpoint-path>   # EXPLAIN ANALYZE of every statement
 *
 * Env: BENCH_DATABASE_URL (default the local server's postgres db), BENCH_DB (pp_analytics_1m),
 * BENCH_DEALS, BENCH_DAYS (14), BENCH_REQUESTS.
 */
import postgres from 'postgres'
import { connectPostgres } from '../api/src/db/client'
import { runMigrations } from '../api/src/db/migrate'
import { takeSnapshot } from '../api/src/analytics/snapshot'
import { refreshAnalyticsRollups } from '../api/src/analytics/rollup'
import { seedOrg, SEED_NOW, SEED_ORG } from '../tests/helpers/seed'
import { createTestApp } from '../tests/helpers/app'
import { asUser } from '../tests/helpers/auth'

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const DB = process.env.BENCH_DB ?? 'pp_analytics_1m'
const DEALS = Number(process.env.BENCH_DEALS ?? 1_000_000)
const DAYS = Number(process.env.BENCH_DAYS ?? 14)
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 50)
const log = (m: string) => console.error(`[fixture ${new Date().toISOString().slice(11, 19)}] ${m}`)

const urlFor = (name: string) => {
  const u = new URL(ADMIN_URL)
  u.pathname = `/${name}`
  return u.toString()
}
const addDays = (day: string, n: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10)

async function build() {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
  await admin.unsafe(`drop database if exists ${DB} with (force)`)
  await admin.unsafe(`create database ${DB}`)
  await admin.end()
  const database = connectPostgres(urlFor(DB), { max: 2 })
  const db = database.db
  await runMigrations(database)
  log('seeding the test org')
  await seedOrg(db)
  // Start the snapshot history over, at scale.
  const sql = postgres(urlFor(DB), { max: 1, onnotice: () => {} })
  await sql.unsafe(`delete from deal_snapshots; delete from pipeline_daily;
                    update sync_state set last_snapshot_day = null`)
  const [{ n }] = (await sql<{ n: number }[]>`select count(*)::int as n from deals`) as unknown as [
    { n: number },
  ]
  const copies = Math.ceil(DEALS / n) - 1
  const cols = (
    await sql<{ c: string }[]>`select column_name as c from information_schema.columns
      where table_name = 'deals' and table_schema = current_schema() order by ordinal_position`
  ).map((r) => r.c)
  // Same deals under new ids: closing dates spread ±60 days, amounts varied, created no later.
  const exprs = cols.map((c) =>
    c === 'id'
      ? `k::text || '-' || id`
      : c === 'closing_date'
        ? `closing_date + (k % 121 - 60)`
        : c === 'amount_sgd'
          ? `amount_sgd * (1 + (k % 7))`
          : c === 'amount'
            ? `amount * (1 + (k % 7))`
            : c === 'weighted_sgd'
              ? `round(amount_sgd * (1 + (k % 7)) * effective_probability / 100, 2)`
              : c === 'created_time'
                ? `created_time - make_interval(days => k % 200)`
                : c === 'name'
                  ? `name || ' #' || k`
                  : c,
  )
  log(`inflating ${n} deals to ${DEALS}`)
  for (let from = 1; from <= copies; from += 1000) {
    const to = Math.min(copies, from + 999)
    await sql.unsafe(
      `insert into deals (${cols.join(', ')})
       select ${exprs.join(', ')} from deals cross join generate_series(${from}, ${to}) k
       where org_id = '${SEED_ORG}' and id not like '%-%'`,
    )
  }
  await sql.unsafe(`delete from deals where ctid in (select ctid from deals offset ${DEALS})`)
  await sql`vacuum analyze deals`
  const first = addDays('2026-11-25', -(DAYS - 1))
  for (let i = 0; i < DAYS; i++) {
    const day = addDays(first, i)
    if (i > 0) {
      // A day's movement on ~1% of deals: amounts, pushed closing dates, some wins and losses.
      await sql.unsafe(`update deals set amount_sgd = amount_sgd * 1.1, weighted_sgd = weighted_sgd * 1.1
                        where org_id = '${SEED_ORG}' and abs(hashtext(id || '${day}a')) % 300 = 0`)
      await sql.unsafe(`update deals set closing_date = closing_date + 14, closing_push_count = closing_push_count + 1
                        where org_id = '${SEED_ORG}' and abs(hashtext(id || '${day}c')) % 400 = 0`)
      await sql.unsafe(`update deals d set stage = s.display_value, state = s.state,
                          forecast_category = s.forecast_category
                        from stages s where s.org_id = d.org_id and s.state <> 'open'
                          and s.display_value = case when abs(hashtext(d.id)) % 2 = 0 then 'Closed Won' else 'Closed Lost' end
                          and d.org_id = '${SEED_ORG}' and d.state = 'open'
                          and abs(hashtext(d.id || '${day}w')) % 500 = 0`)
    }
    const t = performance.now()
    await takeSnapshot(db, SEED_ORG, day)
    log(`snapshot ${day} ${Math.round(performance.now() - t)} ms`)
  }
  await sql`vacuum analyze`
  const t = performance.now()
  await refreshAnalyticsRollups(db, SEED_ORG)
  log(`rollups ${Math.round(performance.now() - t)} ms`)
  const [{ total }] = (await sql<
    { total: number }[]
  >`select count(*)::int as total from deals`) as unknown as [{ total: number }]
  log(`done: ${total} deals`)
  await sql.end()
  await database.close()
}

const endpoints = (): [string, string, boolean][] => [
  ['summary', '/api/v1/pipeline/summary', false],
  ['by_stage', '/api/v1/pipeline/by-stage', false],
  ['by_owner', '/api/v1/pipeline/by-owner', false],
  ['forecast', '/api/v1/forecast?period=quarter', false],
  ['trend', '/api/v1/trend?from=2026-10-27&to=2026-11-26', false],
  ['waterfall', '/api/v1/waterfall?from=2026-11-16&to=2026-11-25', false],
  ['funnel', '/api/v1/funnel', false],
  ['deals_page', '/api/v1/deals?limit=50', false],
  ['csv_first_byte', '/api/v1/exports/deals.csv', true],
]

async function measure(only?: string) {
  const database = connectPostgres(urlFor(DB), { max: 10 })
  const { app, config } = createTestApp(database, {}, { now: () => SEED_NOW })
  const seeded = { admin: '5725767000000100001', rep: '5725767000000100004' }
  const out: Record<string, Record<string, number>> = {}
  for (const [name, path, firstByte] of endpoints()) {
    if (only && !only.split(',').includes(name)) continue
    out[name] = {}
    for (const [who, userId] of Object.entries(seeded)) {
      const headers = await asUser(config, SEED_ORG, userId)
      const once = async () => {
        const t = performance.now()
        const res = await app.request(path, { headers })
        if (!res.ok) throw new Error(`${path} → ${res.status} ${await res.text()}`)
        if (firstByte) {
          const reader = res.body!.getReader()
          await reader.read()
          const ms = performance.now() - t
          await reader.cancel()
          return ms
        }
        await res.arrayBuffer()
        return performance.now() - t
      }
      await once()
      const times: number[] = []
      for (let i = 0; i < REQUESTS; i++) times.push(await once())
      times.sort((a, b) => a - b)
      out[name][who] = Math.round(times[Math.ceil(0.95 * times.length) - 1]! * 10) / 10
      out[name][`${who}_p50`] = Math.round(times[Math.floor(times.length / 2)]! * 10) / 10
    }
    console.log(`${name.padEnd(16)} ${JSON.stringify(out[name])}`)
  }
  await database.close()
}

/** EXPLAIN (ANALYZE, BUFFERS) of every statement one request issues. */
async function explain(path: string, who: 'admin' | 'rep') {
  const url = urlFor(DB)
  const client = postgres(url, { max: 1, onnotice: () => {}, fetch_types: false })
  const database = connectPostgres(url, { max: 1 })
  const origExecute = database.db.execute.bind(database.db)
  const statements: { q: string; params: unknown[] }[] = []
  ;(database.db as unknown as { execute: unknown }).execute = (s: never) => {
    const d = (
      database.db as unknown as { dialect: { sqlToQuery(s: unknown): { sql: string; params: unknown[] } } }
    ).dialect
    const q = d.sqlToQuery(s)
    statements.push({ q: q.sql, params: q.params })
    return origExecute(s)
  }
  const { app, config } = createTestApp(database, {}, { now: () => SEED_NOW })
  const user = who === 'admin' ? '5725767000000100001' : '5725767000000100004'
  const res = await app.request(path, { headers: await asUser(config, SEED_ORG, user) })
  await res.arrayBuffer()
  for (const s of statements) {
    const plan = await client.unsafe(`explain (analyze, buffers) ${s.q}`, s.params as never[])
    console.log('----\n' + s.q.slice(0, 300) + '\n' + plan.map((r) => r['QUERY PLAN']).join('\n'))
  }
  await client.end()
  await database.close()
}

/** Rebuild the rollups (after changing their code or applying new DDL to an existing fixture). */
async function refresh() {
  const database = connectPostgres(urlFor(DB), { max: 1 })
  const t = performance.now()
  await refreshAnalyticsRollups(database.db, SEED_ORG)
  log(`rollups ${Math.round(performance.now() - t)} ms`)
  await database.close()
}

const [cmd, arg, who] = process.argv.slice(2)
const main =
  cmd === 'build'
    ? build()
    : cmd === 'refresh'
      ? refresh()
      : cmd === 'explain'
        ? explain(arg!, (who as 'admin' | 'rep') ?? 'admin')
        : measure(arg)
main.then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
