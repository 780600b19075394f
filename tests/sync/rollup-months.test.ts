import { beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query, type Database } from '../../api/src/db/client'
import { refreshAnalyticsRollups } from '../../api/src/analytics/rollup'
import { runFx } from '../../api/src/fx/job'
import { syncStep } from '../../api/src/sync/engine'
import { runOrgSync } from '../../api/src/sync/run'
import { SyncSession } from '../../api/src/sync/session'
import { startSync } from '../../api/src/sync/start'
import { testDbKind } from '../helpers/db'
import { sandboxSuite, truth } from './setup'

/*
 * An incremental or Watch (ids) run refreshes only the closing months of the month rollup that its
 * writes and deletions touched, and leaves them exactly as a whole-org refresh would. To see which
 * months a refresh recomputed, some months' rollup rows are made wrong by hand first: a refresh that
 * recomputes such a month rewrites them, one that leaves it alone keeps them as they are.
 */

interface RollupRow {
  /** table, month and the whole row as text */
  key: string
  month: string | null
  /** xmin:ctid: a row rewritten gets a new one */
  version: string
}

type Month = string | null
const monthOf = (date: string | null): Month => (date ? `${date.slice(0, 7)}-01` : null)
const sortMonths = (ms: Month[]) => [...new Set(ms)].sort((a, b) => String(a).localeCompare(String(b)))

async function rollupRows(database: Database, orgId: string): Promise<RollupRow[]> {
  return query<RollupRow>(
    database.db,
    sql`select 'rollup ' || r::text as key, r.close_month::text as month, xmin::text || ':' || ctid::text as version
          from deal_month_rollup r where r.org_id = ${orgId}
        union all
        select 'totals ' || t::text, t.close_month::text, xmin::text || ':' || ctid::text
          from deal_month_totals t where t.org_id = ${orgId}
        order by 1`,
  )
}

/** Makes a month's rollup rows wrong, as a refresh that skipped them would leave them. */
async function spoilMonth(database: Database, orgId: string, month: string) {
  await database.db.execute(sql`update deal_month_rollup set deal_count = deal_count + 1000
    where org_id = ${orgId} and close_month = ${month}::date`)
}

/** The run's touched months, as its checkpoint keeps them. */
async function touchedOf(database: Database, runId: string): Promise<unknown> {
  const [r] = await query<{ t: string | null }>(
    database.db,
    sql`select (checkpoint->'touched')::text as t from sync_runs where id = ${runId}`,
  )
  return r?.t ? JSON.parse(r.t) : null
}

/**
 * A whole-org refresh after the run: every row outside `spoiled` months must come through it
 * untouched (the run's refresh left exactly what a whole refresh makes), and the spoiled rows are
 * repaired (so they had been left alone by the run).
 */
async function expectWholeRefreshChangesOnly(database: Database, orgId: string, spoiled: string[]) {
  const before = await rollupRows(database, orgId)
  expect(await refreshAnalyticsRollups(database.db, orgId)).toBe('org')
  const after = await rollupRows(database, orgId)
  const outside = (rows: RollupRow[]) => rows.filter((r) => !spoiled.includes(r.month as string))
  expect(outside(after)).toEqual(outside(before))
  const inside = (rows: RollupRow[]) => rows.filter((r) => spoiled.includes(r.month as string))
  for (const m of spoiled) {
    const was = inside(before).filter((r) => r.month === m && r.key.startsWith('rollup '))
    expect(was.length).toBeGreaterThan(0)
    // Repaired now: none of the spoiled rows survives.
    expect(inside(after).filter((r) => was.some((w) => w.version === r.version))).toEqual([])
  }
}

/** Rows outside `months` kept their version (and content) through the run. */
function expectOnlyMonthsRewritten(before: RollupRow[], after: RollupRow[], months: Month[]) {
  const outside = (rows: RollupRow[]) => rows.filter((r) => !months.includes(r.month))
  expect(outside(after)).toEqual(outside(before))
}

/**
 * Every change so far (rate sets especially) an hour before the last refresh: a rate set stored in
 * the 15 minutes before it would make the next run refresh the whole org, as it may have repriced
 * deals of any month.
 */
async function anHourOn(database: Database) {
  await database.db.execute(sql`update sync_runs set heartbeat_at = heartbeat_at - interval '1 hour'`)
  await database.db.execute(sql`update fx_rate_sets set fetched_at = fetched_at - interval '1 hour'`)
  await database.db.execute(
    sql`update sync_state set metadata_refreshed_at = metadata_refreshed_at - interval '1 hour'`,
  )
}

interface StoredDeal {
  id: string
  month: string
  closing_date: string
  stage: string
  owner_id: string
}

/** One open, priced deal per closing month, oldest month first. */
async function onePerMonth(database: Database, orgId: string): Promise<StoredDeal[]> {
  return query<StoredDeal>(
    database.db,
    sql`select distinct on (date_trunc('month', closing_date)) id, closing_date::text,
               date_trunc('month', closing_date)::date::text as month, stage, owner_id
        from deals where org_id = ${orgId} and state = 'open' and amount_sgd is not null
          and closing_date is not null
        order by date_trunc('month', closing_date), id`,
  )
}

describe(`the month rollup after incremental and Watch runs (${testDbKind})`, () => {
  // 1,000 deals: their open deals close in 20 months, one deal each for the tests to move.
  const { database, h } = sandboxSuite({ sandbox: { deals: 1000 }, firstSync: true })

  it('an incremental run refreshes the months its edits, deletions and new deals touched, and no other', async () => {
    await anHourOn(database)
    const d = await onePerMonth(database, h.orgId)
    expect(d.length).toBeGreaterThanOrEqual(11)
    const [otherStage] = await query<{ display_value: string }>(
      database.db,
      sql`select display_value from stages where org_id = ${h.orgId} and state = 'open'
            and display_value <> ${d[1]!.stage} order by sequence limit 1`,
    )
    const otherOwner = h.sb.users.all.find((u) => u.id !== d[2]!.owner_id && u.status === 'active')!

    h.sb.editDeal(d[0]!.id, { Closing_Date: d[7]!.closing_date }) // moves to another month
    h.sb.editDeal(d[1]!.id, { Stage: otherStage!.display_value })
    h.sb.editDeal(d[2]!.id, { Owner: otherOwner.id })
    h.sb.editDeal(d[3]!.id, { Amount: 31415.92 })
    h.sb.deleteDeal(d[4]!.id, 'recycle')
    h.sb.editDeal(d[5]!.id, { Closing_Date: null }) // into the deals without a closing date
    const created = h.sb.createDeal({ Closing_Date: d[6]!.closing_date, Amount: 2718.28 })
    // A field the rollup does not read: its month is not touched.
    h.sb.editDeal(d[8]!.id, { Deal_Name: 'Renamed, nothing else' })
    const expected = sortMonths([d[0], d[7], d[1], d[2], d[3], d[4], d[5], d[6]].map((x) => x!.month))
    expected.push(null)

    // Months whose rows a refresh of them would rewrite: the renamed deal's and an untouched one.
    const spoiled = [d[8]!.month, d[9]!.month]
    for (const m of spoiled) await spoilMonth(database, h.orgId, m)
    const before = await rollupRows(database, h.orgId)

    const run = await runOrgSync(h.ctx, h.orgId, { trigger: 'cron', historyBudget: 0 })
    expect(run).toMatchObject({ status: 'succeeded', kind: 'incremental', deletions: 1 })
    expect(await touchedOf(database, run.runId!)).toEqual(expected)
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    const [row] = await query<{ month: string }>(
      database.db,
      sql`select closing_date::text as month from deals where org_id = ${h.orgId} and id = ${created}`,
    )
    expect(monthOf(row!.month)).toBe(d[6]!.month)

    const after = await rollupRows(database, h.orgId)
    expectOnlyMonthsRewritten(before, after, expected)
    // And the touched months changed: their rows were recomputed.
    expect(after).not.toEqual(before)
    await expectWholeRefreshChangesOnly(database, h.orgId, spoiled)
  })

  it('a Watch (ids) run refreshes the months of the deals it wrote and removed, and no other', async () => {
    await anHourOn(database)
    const d = await onePerMonth(database, h.orgId)
    h.sb.editDeal(d[0]!.id, { Closing_Date: d[5]!.closing_date, Amount: 1234.5 })
    h.sb.editDeal(d[1]!.id, { Amount: 99.99 })
    h.sb.deleteDeal(d[2]!.id, 'recycle')
    const created = h.sb.createDeal({ Closing_Date: d[3]!.closing_date })
    const expected = sortMonths([d[0], d[5], d[1], d[2], d[3]].map((x) => x!.month))

    const spoiled = [d[4]!.month, d[6]!.month]
    for (const m of spoiled) await spoilMonth(database, h.orgId, m)
    const before = await rollupRows(database, h.orgId)

    const ids = [d[0]!.id, d[1]!.id, d[2]!.id, created]
    const run = await runOrgSync(h.ctx, h.orgId, { trigger: 'watch', ids })
    expect(run).toMatchObject({ status: 'succeeded', kind: 'ids', deletions: 1 })
    expect(await touchedOf(database, run.runId!)).toEqual(expected)
    const [n] = await query<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from deals where org_id = ${h.orgId} and id in (${d[2]!.id}, ${created})`,
    )
    expect(n!.n).toBe(1)

    const after = await rollupRows(database, h.orgId)
    expectOnlyMonthsRewritten(before, after, expected)
    expect(after).not.toEqual(before)
    await expectWholeRefreshChangesOnly(database, h.orgId, spoiled)
  })

  it('a refresh of some months recomputes those (a December, the deals without a closing date) and no other', async () => {
    const months = await query<{ m: string | null }>(
      database.db,
      sql`select distinct close_month::text as m from deal_month_rollup where org_id = ${h.orgId} order by 1`,
    )
    const december = months.find((x) => x.m?.endsWith('-12-01'))!.m!
    const other = months.find((x) => x.m && x.m !== december)!.m!
    expect(months.some((x) => x.m === null)).toBe(true)
    for (const m of [december, other]) await spoilMonth(database, h.orgId, m)
    await database.db.execute(sql`update deal_month_rollup set deal_count = deal_count + 1000
      where org_id = ${h.orgId} and close_month is null`)
    expect(await refreshAnalyticsRollups(database.db, h.orgId, [december, null])).toEqual([december, null])
    await expectWholeRefreshChangesOnly(database, h.orgId, [other])
  })

  it('a run that touches more than 24 months refreshes the whole org', async () => {
    await anHourOn(database)
    const d = await onePerMonth(database, h.orgId)
    expect(d.length).toBeGreaterThan(14)
    // 13 deals each moved to a month of their own: 26 months.
    d.slice(0, 13).forEach((x, i) => h.sb.editDeal(x.id, { Closing_Date: `${2031 + i}-03-15` }))
    await spoilMonth(database, h.orgId, d[14]!.month)
    const run = await runOrgSync(h.ctx, h.orgId, { trigger: 'cron', historyBudget: 0 })
    expect(run).toMatchObject({ status: 'succeeded', kind: 'incremental' })
    expect(await touchedOf(database, run.runId!)).toBe('org')
    // The spoiled month was recomputed too: a whole refresh now changes nothing.
    await expectWholeRefreshChangesOnly(database, h.orgId, [])
  })

  it('a run after the org was marked behind (another writer) refreshes the whole org', async () => {
    await anHourOn(database)
    const d = await onePerMonth(database, h.orgId)
    h.sb.editDeal(d[0]!.id, { Amount: 777.77 })
    await spoilMonth(database, h.orgId, d[3]!.month)
    await database.db.execute(sql`delete from analytics_rollup_state where org_id = ${h.orgId}`)
    const run = await runOrgSync(h.ctx, h.orgId, { trigger: 'cron', historyBudget: 0 })
    expect(run).toMatchObject({ status: 'succeeded', kind: 'incremental' })
    expect(await touchedOf(database, run.runId!)).toEqual([d[0]!.month])
    await expectWholeRefreshChangesOnly(database, h.orgId, [])
  })
})

describe(`a run resumed after its process died (${testDbKind})`, () => {
  const { database, h } = sandboxSuite({ sandbox: { deals: 400 }, firstSync: true })

  it('still refreshes the months of the pages it committed before the crash', async () => {
    await anHourOn(database)
    const d = await onePerMonth(database, h.orgId)
    expect(d.length).toBeGreaterThanOrEqual(13)
    // Read in Modified_Time order: the first page holds the early edits, later pages the others.
    const early = d.slice(0, 5)
    const late = d.slice(6, 12)
    for (const x of early) h.sb.editDeal(x.id, { Amount: 1111.11 })
    await new Promise((r) => setTimeout(r, 1100))
    for (const x of late) h.sb.editDeal(x.id, { Amount: 2222.22 })
    const spoiled = d[12]!.month
    await spoilMonth(database, h.orgId, spoiled)

    // One page of 5 committed, then the process is gone (no stop, no release; its lease runs out).
    const started = await startSync(h.ctx, h.orgId, {
      trigger: 'cron',
      historyBudget: 0,
      perPage: 5,
      leaseSeconds: 1,
    })
    expect(started).not.toBeNull()
    await syncStep(h.ctx, started!.runId, started!.holder, new SyncSession(), 1)
    const beforeCrash = (await touchedOf(database, started!.runId)) as Month[]
    const earlyMonths: Month[] = early.map((x) => x.month)
    // At least four of the early deals were on that page (one may be a re-read of the last sync's
    // newest deal, which changed nothing).
    expect(beforeCrash.filter((m) => earlyMonths.includes(m)).length).toBeGreaterThanOrEqual(4)
    expect(beforeCrash.every((m) => earlyMonths.includes(m))).toBe(true)
    await new Promise((r) => setTimeout(r, 1100))

    const resumed = await runOrgSync(h.ctx, h.orgId, { trigger: 'cron', historyBudget: 0 })
    expect(resumed).toMatchObject({ runId: started!.runId, status: 'succeeded', kind: 'incremental' })
    const touched = (await touchedOf(database, started!.runId)) as Month[]
    // The months of the page before the crash too (its deals were not read again).
    expect(touched).toEqual(sortMonths([...early, ...late].map((x) => x.month)))
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    // The months of the page before the crash are as a whole refresh makes them; the spoiled one
    // was left alone.
    await expectWholeRefreshChangesOnly(database, h.orgId, [spoiled])
  })
})

describe(`a run whose end reprices deals (${testDbKind})`, () => {
  const { database, h } = sandboxSuite({ sandbox: { deals: 300, fxPlan: 'paid' } })
  const lastWeek = new Date(Date.now() - 8 * 86_400_000)

  beforeAll(async () => {
    // Synced "last week", with last week's rate set the newest.
    const full = await runOrgSync({ ...h.ctx, now: () => lastWeek }, h.orgId, {
      trigger: 'manual',
      historyBudget: 0,
    })
    expect(full.status, full.error).toBe('succeeded')
  })

  it('refreshes the whole org: a rate set stored mid-run moves open deals of every month', async () => {
    await anHourOn(database)
    const d = await onePerMonth(database, h.orgId)
    h.sb.editDeal(d[0]!.id, { Amount: 5555.55 })
    const ctx = { ...h.ctx, now: () => lastWeek }
    const started = await startSync(ctx, h.orgId, { trigger: 'cron', historyBudget: 0 })
    const session = new SyncSession()
    await syncStep(ctx, started!.runId, started!.holder, session)
    // This week's set, stored by the fx job between two steps (it re-prices the stored deals).
    await runFx(h.ctx)
    for (;;) if ((await syncStep(ctx, started!.runId, started!.holder, session)).done) break
    expect(await touchedOf(database, started!.runId)).toBe('org')
    await expectWholeRefreshChangesOnly(database, h.orgId, [])
  })
})
