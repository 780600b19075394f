import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query } from '../../api/src/db/client'
import { IDS_RUN_CUT_SHORT, runOrgSync, runSteps } from '../../api/src/sync/run'
import { startSync } from '../../api/src/sync/start'
import { createTestApp } from '../helpers/app'
import { testDbKind } from '../helpers/db'
import { sandboxSuite, truth } from './setup'

/**
 * Watch (ids) runs are never resumed, and on Workers they run after the 202 within waitUntil's
 * 30 s: one cut short or abandoned must end rather than show "running" for good, and one must not
 * take the org from a full or incremental run that is between two steps.
 */
describe(`Watch runs end, and yield to open runs (${testDbKind})`, () => {
  const { database, h } = sandboxSuite({ sandbox: { deals: 450 }, firstSync: true })
  let app: ReturnType<typeof createTestApp>
  const CHANNEL = '1000000068301'
  const TOKEN = 'b'.repeat(48)

  const notify = (ids: string[]) =>
    app.app.request('/api/v1/zoho/notify', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel_id: CHANNEL, token: TOKEN, module: 'Deals', operation: 'update', ids }),
    })
  const runs = (kind: string) =>
    query<{ id: string; status: string; error: string | null }>(
      database.db,
      sql`select id, status, error from sync_runs where org_id = ${h.orgId} and kind = ${kind} order by started_at`,
    )
  /** Every deal as stored equals the sandbox's, field by field. */
  const expectInStepWithZoho = async () => expect((await truth(h, database)).diff).toBe('')
  const someIds = (n: number) => [...h.sb.deals()].slice(0, n).map((d) => String(d.id))

  beforeAll(async () => {
    app = createTestApp(database, {}, { config: h.config })
    await database.db.execute(sql`insert into watch_channels (channel_id, org_id, token, expires_at)
      values (${CHANNEL}, ${h.orgId}, ${TOKEN}, now() + interval '1 day')`)
  })
  beforeEach(() => h.sb.setFaults({}))

  it('an ids run cut short by its time budget ends failed, frees the org, and the next incremental reads the rest', async () => {
    const ids = someIds(400)
    for (const id of ids) h.sb.editDeal(id, { Amount: 4242.42 })
    // 4 calls of 100 ids at 400 ms each: a 500 ms budget stops the run after one or two.
    h.sb.setFaults({ latencyMs: 400 })
    const started = await startSync(h.ctx, h.orgId, { trigger: 'watch', ids })
    expect(started).not.toBeNull()
    const outcome = await runSteps(h.ctx, started!.runId, started!.holder, { timeBudgetMs: 500 })
    expect(outcome).toEqual({ runId: started!.runId, status: 'failed', error: IDS_RUN_CUT_SHORT })
    const [run] = (await runs('ids')).filter((r) => r.id === started!.runId)
    expect(run).toMatchObject({ status: 'failed', error: IDS_RUN_CUT_SHORT })
    h.sb.setFaults({})
    // The org is free at once, and the incremental brings every edited deal in.
    const next = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(next.status).toBe('succeeded')
    await expectInStepWithZoho()
  })

  it('an ids run whose process died is closed by the next start, not left running', async () => {
    const started = await startSync(h.ctx, h.orgId, { trigger: 'watch', ids: someIds(3) })
    expect(started).not.toBeNull()
    // The holder dies: nothing drives the run, and its lease runs out.
    await database.db.execute(
      sql`update sync_state set lease_expires_at = now() - interval '1 second' where org_id = ${h.orgId}`,
    )
    const next = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(next.status).toBe('succeeded')
    const [run] = (await runs('ids')).filter((r) => r.id === started!.runId)
    expect(run!.status).toBe('failed')
    expect(run!.error).toMatch(/next incremental sync reads its deals/)
    expect((await runs('ids')).filter((r) => r.status === 'running')).toEqual([])
  })

  it('a notification while a run is between two steps starts no ids run; that run finishes', async () => {
    const ids = someIds(5)
    for (const id of ids) h.sb.editDeal(id, { Amount: 777.07 })
    // A full run driven one page per invocation, as a Workflow step does: open, the org free.
    const first = await runOrgSync(h.ctx, h.orgId, {
      trigger: 'manual',
      kind: 'full',
      historyBudget: 0,
      maxPages: 1,
    })
    expect(first.status).toBe('stopped')
    const before = (await runs('ids')).length
    const res = await notify(ids)
    expect(res.status).toBe(202)
    expect(await res.json()).toMatchObject({ accepted: true, runId: null })
    expect((await runs('ids')).length).toBe(before)
    // The open run carries on (not superseded) and brings the edits in.
    const rest = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(rest).toMatchObject({ status: 'succeeded', runId: first.runId })
    await expectInStepWithZoho()
  })
})
