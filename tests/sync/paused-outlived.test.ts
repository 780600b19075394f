import { describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query } from '../../api/src/db/client'
import { runOrgSync } from '../../api/src/sync/run'
import { testDbKind } from '../helpers/db'
import { daysPass, sandboxSuite, truth } from './setup'

/*
 * A paused run (Zoho's credits spent, 429s) waits, open, for a later invocation. One that waited
 * longer than Zoho lists deletions (60 days in the recycle bin) would read a deleted list that has
 * forgotten some of the deletions since the last sync: it must give way to a full sync, whose sweep
 * finds them.
 */
describe(`a run paused for longer than Zoho lists deletions (${testDbKind})`, () => {
  const { database, h } = sandboxSuite({ sandbox: { deals: 300 }, firstSync: true })

  it('is replaced by a full sync, and the deal deleted meanwhile is gone', async () => {
    h.sb.setFaults({ rate429: 1 })
    const paused = await runOrgSync(h.ctx, h.orgId, { trigger: 'cron', historyBudget: 0 })
    expect(paused).toMatchObject({ status: 'stopped', kind: 'incremental' })
    expect(paused.error).toMatch(/^Paused: /)
    h.sb.setFaults({})

    const gone = String([...h.sb.deals()][0]!.id)
    h.sb.deleteDeal(gone, 'recycle')
    // 61 days pass on both sides: Zoho's recycle bin forgets the deletion, the paused run ages.
    await daysPass(h, database, 61, paused.runId!)

    const run = await runOrgSync(h.ctx, h.orgId, { trigger: 'cron', historyBudget: 0 })
    expect(run).toMatchObject({ status: 'succeeded', kind: 'full', deletions: 1 })
    expect(run.runId).not.toBe(paused.runId)
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    expect(t.db.count).toBe(299)
    const [old] = await query<{ status: string; error: string }>(
      database.db,
      sql`select status, error from sync_runs where id = ${paused.runId!}`,
    )
    expect(old).toMatchObject({ status: 'failed', error: expect.stringMatching(/full sync/) })
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
