import { describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query, type Database } from '../../api/src/db/client'
import { runOrgSync } from '../../api/src/sync/run'
import { testDbKind } from '../helpers/db'
import { daysPass, sandboxSuite, truth, type Harness } from './setup'

/*
 * A paused run (Zoho's credits spent, 429s) waits, open, for a later invocation, which continues it
 * as it is. It must give way to a full sync instead when it waited too long:
 * - past the weekly full pass: an incremental run reads only what changed after its cursor, so a
 *   deal one skipped, or one restored from the recycle bin with its old Modified_Time, comes back
 *   only with a full pass;
 * - longer than Zoho lists deletions (60 days in the recycle bin): its deleted list would have
 *   forgotten some of the deletions since the last sync, which the full sync's sweep finds.
 */

const cron = (h: Harness) => runOrgSync(h.ctx, h.orgId, { trigger: 'cron', historyBudget: 0 })

/** An incremental run paused by 429s (then Zoho answers again); returns its summary. */
async function pausedRun(h: Harness) {
  h.sb.setFaults({ rate429: 1 })
  const paused = await cron(h)
  expect(paused).toMatchObject({ status: 'stopped', kind: 'incremental' })
  expect(paused.error).toMatch(/^Paused: /)
  h.sb.setFaults({})
  return paused
}

/** The paused run was closed as failed, saying why. */
async function expectReplaced(database: Database, runId: string, why: RegExp) {
  const [old] = await query<{ status: string; error: string }>(
    database.db,
    sql`select status, error from sync_runs where id = ${runId}`,
  )
  expect(old).toMatchObject({ status: 'failed', error: expect.stringMatching(why) })
}

describe(`a run paused until the weekly full sync came due (${testDbKind})`, () => {
  const { database, h } = sandboxSuite({ sandbox: { deals: 300 }, firstSync: true })

  it('is replaced by a full sync, which brings back a deal restored with its old Modified_Time', async () => {
    const paused = await pausedRun(h)
    // A deal our copy lost while Zoho kept it unchanged: only a full pass reads it again.
    const [lost] = await query<{ id: string }>(
      database.db,
      sql`select id from deals where org_id = ${h.orgId} order by modified_time limit 1`,
    )
    await database.db.execute(sql`delete from deals where org_id = ${h.orgId} and id = ${lost!.id}`)
    // Ten days on: the last full sync is older than a week, the last success well inside 50 days.
    await daysPass(h, database, 10, paused.runId!)

    const run = await cron(h)
    expect(run).toMatchObject({ status: 'succeeded', kind: 'full' })
    expect(run.runId).not.toBe(paused.runId)
    await expectReplaced(database, paused.runId!, /weekly full sync/)
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    expect(t.db.count).toBe(300)
  })
})

describe(`a run paused for longer than Zoho lists deletions (${testDbKind})`, () => {
  const { database, h } = sandboxSuite({ sandbox: { deals: 300 }, firstSync: true })

  it('is replaced by a full sync, and the deal deleted meanwhile is gone', async () => {
    const paused = await pausedRun(h)
    const gone = String([...h.sb.deals()][0]!.id)
    h.sb.deleteDeal(gone, 'recycle')
    // 61 days pass on both sides: Zoho's recycle bin forgets the deletion, the paused run ages.
    await daysPass(h, database, 61, paused.runId!)

    const run = await cron(h)
    expect(run).toMatchObject({ status: 'succeeded', kind: 'full', deletions: 1 })
    expect(run.runId).not.toBe(paused.runId)
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    expect(t.db.count).toBe(299)
    await expectReplaced(database, paused.runId!, /full sync/)
  })

  it('a run paused for a short while is still continued as it is', async () => {
    const paused = await pausedRun(h)
    const run = await cron(h)
    expect(run).toMatchObject({ runId: paused.runId, status: 'succeeded', kind: 'incremental' })
  })
})
