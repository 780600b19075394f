import { describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query } from '../../api/src/db/client'
import { runOrgSync } from '../../api/src/sync/run'
import { testDbKind } from '../helpers/db'
import { crmCalls, sandboxSuite, truth } from './setup'

const N = 700

describe(`sync engine against the sandbox (${testDbKind})`, () => {
  const { database, h } = sandboxSuite({ sandbox: { deals: N, fxPlan: 'paid' } })

  it('full sync: the database equals Zoho, for ceil(N/200) Deals calls plus a handful of metadata calls', async () => {
    h.sb.resetCalls()
    const res = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(res.status).toBe('succeeded')
    expect(res.kind).toBe('full')

    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    expect(t.db.count).toBe(N)

    const deals = crmCalls(h.sb, '/crm/v8/Deals')
    expect(deals.length).toBeLessThanOrEqual(Math.ceil(N / 200))
    const all = crmCalls(h.sb)
    expect(all.length - deals.length).toBeLessThanOrEqual(10)
    // The run row counts what the sandbox saw.
    expect(res.apiCalls).toBe(all.length)
    expect(res.records).toBe(N)

    // Metadata landed: users of every status, roles, stages with state from the picklist.
    const [meta] = await query<{
      users: number
      roles: number
      stages: number
      open: number
      won: number
      lost: number
    }>(
      database.db,
      sql`select (select count(*) from users where org_id = ${h.orgId})::int as users,
                 (select count(*) from roles where org_id = ${h.orgId})::int as roles,
                 (select count(*) from stages where org_id = ${h.orgId})::int as stages,
                 (select count(*) from stages where org_id = ${h.orgId} and state = 'open')::int as open,
                 (select count(*) from stages where org_id = ${h.orgId} and state = 'won')::int as won,
                 (select count(*) from stages where org_id = ${h.orgId} and state = 'lost')::int as lost`,
    )
    expect(meta!.users).toBeGreaterThanOrEqual(h.sb.users.all.length)
    expect(meta!.roles).toBeGreaterThan(1)
    expect(meta!.won).toBeGreaterThanOrEqual(1)
    expect(meta!.lost).toBeGreaterThanOrEqual(1)
    expect(meta!.open).toBeGreaterThanOrEqual(1)
    const [unknown] = await query<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from deals where org_id = ${h.orgId} and state = 'unknown'`,
    )
    expect(unknown!.n).toBe(0)
    const [status] = await query<{ last_success_at: string | null }>(
      database.db,
      sql`select last_success_at::text from sync_state where org_id = ${h.orgId}`,
    )
    expect(status!.last_success_at).not.toBeNull()
  })

  it('incremental: edits, deletes and creates arrive for about ceil(k/200) + 2 calls', async () => {
    const changed = h.sb.mutateRandom({ edits: 40, deletes: 15, creates: 20 }, 7)
    h.sb.resetCalls()
    const res = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(res.status).toBe('succeeded')
    expect(res.kind).toBe('incremental')
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    expect(t.db.count).toBe(N - 15 + 20)

    const k = changed.edited.length + changed.created.length
    expect(crmCalls(h.sb, '/crm/v8/Deals').length).toBeLessThanOrEqual(Math.ceil(k / 200))
    expect(crmCalls(h.sb).length).toBeLessThanOrEqual(Math.ceil(k / 200) + 2)
    expect(res.deletions).toBe(15)

    // Deleted deals are gone from every table the figures read.
    const gone = changed.deleted
    const [left] = await query<{ n: number }>(
      database.db,
      sql`select ((select count(*) from deals where org_id = ${h.orgId} and id in ${gone})
                + (select count(*) from stage_history where org_id = ${h.orgId} and deal_id in ${gone}))::int as n`,
    )
    expect(left!.n).toBe(0)
  })

  it('records stage changes and closing-date pushes it observes, once', async () => {
    const [d] = await query<{ id: string; stage: string; closing_date: string; pushes: number }>(
      database.db,
      sql`select id, stage, closing_date::text, closing_push_count as pushes from deals
          where org_id = ${h.orgId} and state = 'open' order by id limit 1`,
    )
    const stages = await query<{ display_value: string }>(
      database.db,
      sql`select display_value from stages where org_id = ${h.orgId} and state = 'open' and display_value <> ${d!.stage}
          order by sequence limit 1`,
    )
    const next = stages[0]!.display_value
    const later = new Date(Date.parse(d!.closing_date) + 30 * 86_400_000).toISOString().slice(0, 10)
    h.sb.editDeal(d!.id, { Stage: next, Closing_Date: later })
    for (let i = 0; i < 2; i++) {
      // The second run re-reads the same record through the cursor overlap: nothing is doubled.
      const res = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
      expect(res.status).toBe('succeeded')
    }
    const [after] = await query<{ stage: string; pushes: number; entered: string; modified: string }>(
      database.db,
      sql`select stage, closing_push_count as pushes, stage_entered_at::text as entered, modified_time::text as modified
          from deals where org_id = ${h.orgId} and id = ${d!.id}`,
    )
    expect(after!.stage).toBe(next)
    expect(after!.pushes).toBe(d!.pushes + 1)
    expect(Date.parse(after!.entered)).toBe(Date.parse(after!.modified))
    const hist = await query<{ stage: string; source: string }>(
      database.db,
      sql`select stage, source from stage_history where org_id = ${h.orgId} and deal_id = ${d!.id} and source = 'sync'`,
    )
    expect(hist).toEqual([{ stage: next, source: 'sync' }])
  })

  it('a stage value it does not know triggers one metadata refresh', async () => {
    const [st] = await query<{ display_value: string; state: string }>(
      database.db,
      sql`select display_value, state from stages where org_id = ${h.orgId} and state = 'won' limit 1`,
    )
    // As if the picklist gained this value after our last metadata sync.
    await database.db.execute(
      sql`delete from stages where org_id = ${h.orgId} and display_value = ${st!.display_value}`,
    )
    const [d] = await query<{ id: string }>(
      database.db,
      sql`select id from deals where org_id = ${h.orgId} and state = 'open' order by id desc limit 1`,
    )
    h.sb.editDeal(d!.id, { Stage: st!.display_value })
    h.sb.resetCalls()
    const res = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(res.status).toBe('succeeded')
    expect(crmCalls(h.sb, '/crm/v8/settings/fields').length).toBe(1)
    const [row] = await query<{ stage: string; state: string }>(
      database.db,
      sql`select stage, state from deals where org_id = ${h.orgId} and id = ${d!.id}`,
    )
    expect(row).toEqual({ stage: st!.display_value, state: 'won' })
  })

  it('catches a deal edited while the sync pages past it', async () => {
    // A full re-sync, one page at a time; between pages, edit a deal the sync has already read.
    const first = await runOrgSync(h.ctx, h.orgId, {
      trigger: 'manual',
      kind: 'full',
      historyBudget: 0,
      perPage: 100,
      maxPages: 3,
    })
    expect(first.status).toBe('stopped')
    const [seen] = await query<{ id: string }>(
      database.db,
      sql`select id from deals where org_id = ${h.orgId} and synced_at >= (select started_at from sync_runs where id = ${first.runId})
          order by modified_time limit 1`,
    )
    h.sb.editDeal(seen!.id, { Amount: 123456.78, Deal_Name: 'Edited mid-sync' })
    const rest = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(rest.runId).toBe(first.runId)
    expect(rest.status).toBe('succeeded')
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    const [row] = await query<{ amount: string }>(
      database.db,
      sql`select amount::text from deals where org_id = ${h.orgId} and id = ${seen!.id}`,
    )
    expect(row!.amount).toBe('123456.78')
  })

  it('backfills Stage_History within its own bounded, separately counted budget', async () => {
    h.sb.resetCalls()
    const res = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 15 })
    expect(res.status).toBe('succeeded')
    const historyCalls = h.sb.calls.filter((c) => c.service === 'crm' && c.path.endsWith('/Stage_History'))
    expect(historyCalls.length).toBe(15)
    expect(res.historyCalls).toBe(15)
    const [r] = await query<{ deals: number; rows: number }>(
      database.db,
      sql`select count(*) filter (where history_backfilled_at is not null)::int as deals,
                 (select count(*) from stage_history where org_id = ${h.orgId} and source = 'zoho')::int as rows
          from deals where org_id = ${h.orgId}`,
    )
    expect(r!.deals).toBe(15)
    expect(r!.rows).toBeGreaterThanOrEqual(15)
    // The next run continues with other deals.
    const again = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 5 })
    expect(again.historyCalls).toBe(5)
    const [r2] = await query<{ deals: number }>(
      database.db,
      sql`select count(*) filter (where history_backfilled_at is not null)::int as deals from deals where org_id = ${h.orgId}`,
    )
    expect(r2!.deals).toBe(20)
  })

  it("Zoho's Stage_History row replaces the one our sync observed for the same change", async () => {
    const [d] = await query<{ id: string; stage: string }>(
      database.db,
      sql`select id, stage from deals where org_id = ${h.orgId} and state = 'open' and history_backfilled_at is null
          order by id limit 1`,
    )
    const [st] = await query<{ display_value: string }>(
      database.db,
      sql`select display_value from stages where org_id = ${h.orgId} and state = 'open' and display_value <> ${d!.stage}
          order by sequence limit 1`,
    )
    h.sb.editDeal(d!.id, { Stage: st!.display_value })
    await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    const rowsOf = () =>
      query<{ stage: string; source: string; zoho: boolean }>(
        database.db,
        sql`select stage, source, zoho_id is not null as zoho from stage_history
            where org_id = ${h.orgId} and deal_id = ${d!.id} order by entered_at desc`,
      )
    expect((await rowsOf())[0]).toEqual({ stage: st!.display_value, source: 'sync', zoho: false })
    // The edited deal is the most recently modified one: a budget of one backfills it.
    const res = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 1 })
    expect(res.historyCalls).toBe(1)
    const rows = await rowsOf()
    expect(rows[0]).toEqual({ stage: st!.display_value, source: 'zoho', zoho: true })
    expect(rows.every((r) => r.source === 'zoho')).toBe(true)
  })

  it("a deal's stage entry is the first of Zoho's consecutive history rows of that stage, by display value", async () => {
    const [d] = await query<{ id: string }>(
      database.db,
      sql`select id from deals where org_id = ${h.orgId} and state = 'open' and history_backfilled_at is null
            and stage <> 'Identify Decision Makers' order by id limit 1`,
    )
    const pause = () => new Promise((res) => setTimeout(res, 1100))
    // Into the stage, then edits Zoho logs with the stage's actual and display values in turn.
    h.sb.editDeal(d!.id, { Stage: 'Identify Decision Makers' })
    const entered = [...h.sb.deals()].find((x) => x.id === d!.id)!.Modified_Time as string
    await pause()
    h.sb.editDeal(d!.id, { Stage: 'Id. Decision Makers' })
    await pause()
    h.sb.editDeal(d!.id, { Stage: 'Identify Decision Makers' })
    // The edited deal is the most recently modified one: a budget of one backfills it.
    const res = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 1 })
    expect(res.historyCalls).toBe(1)
    const [row] = await query<{ stage: string; entered: boolean }>(
      database.db,
      sql`select stage, stage_entered_at = ${entered}::timestamptz as entered from deals
          where org_id = ${h.orgId} and id = ${d!.id}`,
    )
    expect(row).toEqual({ stage: 'Identify Decision Makers', entered: true })
  })

  it("counts the closing date's moves later along Zoho's Stage_History, then to the date now, as pushes", async () => {
    const before = new Map(
      (
        await query<{ id: string; pushes: number }>(
          database.db,
          sql`select id, closing_push_count as pushes from deals where org_id = ${h.orgId}`,
        )
      ).map((r) => [r.id, r.pushes]),
    )
    const started = new Date().toISOString()
    const res = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 1000 })
    expect(res.status).toBe('succeeded')
    const read = await query<{ id: string; pushes: number; closing: string | null; line: (string | null)[] }>(
      database.db,
      sql`select d.id, d.closing_push_count as pushes, d.closing_date::text as closing,
                 (select json_agg(h.closing_date::text order by h.entered_at) from stage_history h
                  where h.org_id = d.org_id and h.deal_id = d.id and h.source = 'zoho') as line
          from deals d where d.org_id = ${h.orgId} and d.history_backfilled_at >= ${started}::timestamptz`,
    )
    expect(read.length).toBeGreaterThan(20)
    const later = (xs: (string | null)[]) =>
      xs.filter((x, i) => i > 0 && x !== null && xs[i - 1] !== null && x > xs[i - 1]!).length
    for (const r of read)
      expect(r.pushes, r.id).toBe(Math.max(before.get(r.id) ?? 0, later([...(r.line ?? []), r.closing])))
    // Slipping (more than twice) by the rows alone, and by the rows and then the date now only.
    expect(read.filter((r) => later(r.line ?? []) > 2).length).toBeGreaterThan(0)
    expect(read.filter((r) => later(r.line ?? []) === 2 && r.pushes === 3).length).toBeGreaterThan(0)
  })

  it('a quiet incremental run leaves the month rollup as it is; a run with changes refreshes it', async () => {
    // An hour on: every change so far (runs, rate sets, metadata) well before the last refresh.
    await database.db.execute(sql`update sync_runs set heartbeat_at = heartbeat_at - interval '1 hour'`)
    await database.db.execute(sql`update fx_rate_sets set fetched_at = fetched_at - interval '1 hour'`)
    await database.db.execute(
      sql`update sync_state set metadata_refreshed_at = metadata_refreshed_at - interval '1 hour'`,
    )
    const refreshedAt = async () =>
      (
        await query<{ t: string }>(
          database.db,
          sql`select refreshed_at::text as t from analytics_rollup_state where org_id = ${h.orgId}`,
        )
      )[0]?.t
    /** The org's SGD total by the rollup totals, and by the deals table. */
    const totals = () =>
      query<{ rolled: string | null; direct: string | null }>(
        database.db,
        sql`select (select sum(amount_sgd)::text from deal_month_totals where org_id = ${h.orgId}) as rolled,
                   (select sum(amount_sgd)::text from deals where org_id = ${h.orgId}) as direct`,
      ).then((r) => r[0]!)
    const before = await refreshedAt()
    expect(before).toBeDefined()

    const quiet = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(quiet.status).toBe('succeeded')
    expect(quiet.records).toBe(0)
    expect(await refreshedAt()).toBe(before)
    const t = await totals()
    expect(t.rolled).toBe(t.direct)

    const [d] = await query<{ id: string }>(
      database.db,
      sql`select id from deals where org_id = ${h.orgId} and amount_sgd is not null order by id limit 1`,
    )
    h.sb.editDeal(d!.id, { Amount: 987654.32 })
    const changed = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(changed.records).toBe(1)
    expect(await refreshedAt()).not.toBe(before)
    const after = await totals()
    expect(after.rolled).toBe(after.direct)
    expect(after.direct).not.toBe(t.direct)

    // A run that stops short after writing pages (a step budget, a failure) never reaches the
    // refresh: its rollups are marked behind, so figures read the deals table until the next run.
    h.sb.mutateRandom({ edits: 0, deletes: 0, creates: 250 }, 11)
    const stopped = await runOrgSync(h.ctx, h.orgId, {
      trigger: 'manual',
      historyBudget: 0,
      perPage: 100,
      maxPages: 1,
    })
    expect(stopped.status).toBe('stopped')
    expect(stopped.records).toBeGreaterThan(0)
    expect(await refreshedAt()).toBeUndefined()
    const rest = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(rest.status).toBe('succeeded')
    expect(await refreshedAt()).toBeDefined()
    const caughtUp = await totals()
    expect(caughtUp.rolled).toBe(caughtUp.direct)
  })
})
