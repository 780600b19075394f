import { describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query } from '../../api/src/db/client'
import { runOrgSync } from '../../api/src/sync/run'
import { testDbKind } from '../helpers/db'
import { daysPass, sandboxSuite, truth } from './setup'

/*
 * A full pass runs at least weekly: an incremental run reads only what changed after its cursor, so
 * a deal one skipped, or one restored from the recycle bin with its old Modified_Time, comes back
 * only with a full pass. An incremental run left paused (credits spent) until that pass came due
 * must give way to it, not be continued as incremental.
 */
describe(`a run paused until the weekly full sync came due (${testDbKind})`, () => {
  const { database, h } = sandboxSuite({ sandbox: { deals: 300 }, firstSync: true })

  it('is replaced by a full sync, which brings back a deal restored with its old Modified_Time', async () => {
    h.sb.setFaults({ rate429: 1 })
    const paused = await runOrgSync(h.ctx, h.orgId, { trigger: 'cron', historyBudget: 0 })
    expect(paused).toMatchObject({ status: 'stopped', kind: 'incremental' })
    h.sb.setFaults({})

    // A deal our copy lost while Zoho kept it unchanged: only a full pass reads it again.
    const [lost] = await query<{ id: string }>(
      database.db,
      sql`select id from deals where org_id = ${h.orgId} order by modified_time limit 1`,
    )
    await database.db.execute(sql`delete from deals where org_id = ${h.orgId} and id = ${lost!.id}`)
    // Ten days on: the last full sync is older than a week, the last success well inside 50 days.
    await daysPass(h, database, 10, paused.runId!)

    const run = await runOrgSync(h.ctx, h.orgId, { trigger: 'cron', historyBudget: 0 })
    expect(run).toMatchObject({ status: 'succeeded', kind: 'full' })
    expect(run.runId).not.toBe(paused.runId)
    const [old] = await query<{ status: string; error: string }>(
      database.db,
      sql`select status, error from sync_runs where id = ${paused.runId!}`,
    )
    expect(old).toMatchObject({ status: 'failed', error: expect.stringMatching(/weekly full sync/) })
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    expect(t.db.count).toBe(300)
  })

  it('a run paused for a short while is still continued as it is', async () => {
    h.sb.setFaults({ rate429: 1 })
    const paused = await runOrgSync(h.ctx, h.orgId, { trigger: 'cron', historyBudget: 0 })
    expect(paused).toMatchObject({ status: 'stopped', kind: 'incremental' })
    h.sb.setFaults({})
    const run = await runOrgSync(h.ctx, h.orgId, { trigger: 'cron', historyBudget: 0 })
    expect(run).toMatchObject({ runId: paused.runId, status: 'succeeded', kind: 'incremental' })
  })
})
