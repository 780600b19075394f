import { describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query } from '../../api/src/db/client'
import { syncStep } from '../../api/src/sync/engine'
import { runOrgSync } from '../../api/src/sync/run'
import { SyncSession } from '../../api/src/sync/session'
import { startSync } from '../../api/src/sync/start'
import { testDbKind } from '../helpers/db'
import { crmCalls, sandboxSuite } from './setup'

/*
 * A deal deleted in Zoho after the run's deals pass (and its deleted-list step) but before the
 * Stage_History backfill asks for it: Zoho answers 400 INVALID_DATA naming the `id` parameter. That
 * deal has no history to give; the others still do, in this run.
 */
describe(`Stage_History backfill meeting a deal deleted mid-run (${testDbKind})`, () => {
  const { database, h, connect } = sandboxSuite({ each: true })

  const historyCalls = () => crmCalls(h.sb).filter((c) => c.path.endsWith('/Stage_History'))
  const backfilledIds = async () =>
    (
      await query<{ id: string }>(
        database.db,
        sql`select id from deals where org_id = ${h.orgId} and history_backfilled_at is not null order by id`,
      )
    ).map((r) => r.id)

  it('skips that deal, backfills the others, and the next run removes the deal', async () => {
    await connect({ deals: 200 })
    const started = (await startSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 20 }))!
    const session = new SyncSession()
    // Run the deals pass, the deleted list and the sweep; stop before the first backfill step.
    let step = await syncStep(h.ctx, started.runId, started.holder, session)
    while (!step.done && step.phase !== 'history')
      step = await syncStep(h.ctx, started.runId, started.holder, session)
    expect(step.phase).toBe('history')

    // The deals the backfill asks for first, in its order; the third is deleted in Zoho now.
    const queued = await query<{ id: string }>(
      database.db,
      sql`select id from deals where org_id = ${h.orgId} and history_backfilled_at is null
            and (state = 'open' or (state in ('won', 'lost') and closing_date >= current_date - 90))
          order by modified_time desc limit 10`,
    )
    const gone = queued[2]!.id
    h.sb.deleteDeal(gone)
    h.sb.resetCalls()

    while (!step.done) step = await syncStep(h.ctx, started.runId, started.holder, session)
    const [run] = await query<{ status: string; history_calls: number }>(
      database.db,
      sql`select status, history_calls from sync_runs where id = ${started.runId}`,
    )
    expect(run!.status).toBe('succeeded')

    // Both batches of ten were asked for: one refusal, for the deleted deal, and 19 histories.
    const calls = historyCalls()
    expect(calls).toHaveLength(20)
    expect(calls[2]).toMatchObject({ path: `/crm/v8/Deals/${gone}/Stage_History`, status: 400 })
    expect(calls.filter((c) => c.status === 200)).toHaveLength(19)
    // Asked by id, Zoho confirms it is gone.
    const confirm = crmCalls(h.sb, '/crm/v8/Deals').filter((c) => c.query.ids !== undefined)
    expect(confirm.map((c) => c.query.ids)).toEqual([gone])
    expect(run!.history_calls).toBe(20)
    const done = await backfilledIds()
    expect(done).toHaveLength(20)
    for (const q of queued) expect(done).toContain(q.id)
    const [hist] = await query<{ deals: number }>(
      database.db,
      sql`select count(distinct deal_id)::int as deals from stage_history where org_id = ${h.orgId} and source = 'zoho'`,
    )
    expect(hist!.deals).toBe(19)

    // Marked done, it is not asked for again; the next run's deleted list removes it.
    h.sb.resetCalls()
    const next = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 5 })
    expect(next.status, next.error).toBe('succeeded')
    expect(historyCalls().map((c) => c.path)).not.toContain(`/crm/v8/Deals/${gone}/Stage_History`)
    const left = await query<{ id: string }>(
      database.db,
      sql`select id from deals where org_id = ${h.orgId} and id = ${gone}`,
    )
    expect(left).toEqual([])
  })

  it('a refusal naming the id for deals Zoho still has is not taken for deletions: no deal is marked done without its history', async () => {
    await connect({ deals: 200, stageHistoryRefusesIds: true })
    const run = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 20 })
    expect(run.status, run.error).toBe('succeeded')
    expect(await backfilledIds()).toEqual([])
    // One batch, then the backfill stops for the run, as for a hidden list.
    expect(historyCalls()).toHaveLength(10)
    expect(crmCalls(h.sb, '/crm/v8/Deals').filter((c) => c.query.ids !== undefined)).toHaveLength(1)

    // Still refused the next run: still nothing marked, history can arrive once Zoho answers.
    const again = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 20 })
    expect(again.status, again.error).toBe('succeeded')
    expect(await backfilledIds()).toEqual([])
  })
})
