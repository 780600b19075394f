import { describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query } from '../../api/src/db/client'
import { runOrgSync } from '../../api/src/sync/run'
import { testDbKind } from '../helpers/db'
import { crmCalls, sandboxSuite, truth } from './setup'

/*
 * Zoho does not document what a page_token remembers. If it is a position (as `page` is), a deal
 * edited or deleted behind it during a full sync shifts the rest of the list, and the next page
 * skips a deal the sync never sees. The sweep at the end of a full pass must not take that for a
 * deletion: it asks Zoho about the deals it did not see, by id, before removing any.
 */
describe(`a full sync whose page_token is a position, not a cursor (${testDbKind})`, () => {
  const { database, h } = sandboxSuite({
    sandbox: { deals: 600, pageTokenPosition: 'offset' },
    firstSync: true,
  })

  /** A full re-sync stopped after a few pages; `between` changes Zoho before it resumes. */
  async function fullSyncWith(between: (readIds: string[]) => void) {
    const part = await runOrgSync(h.ctx, h.orgId, {
      trigger: 'manual',
      kind: 'full',
      historyBudget: 0,
      perPage: 100,
      maxPages: 4,
    })
    expect(part.status).toBe('stopped')
    const read = await query<{ id: string }>(
      database.db,
      sql`select id from deals where org_id = ${h.orgId}
          and synced_at >= (select started_at from sync_runs where id = ${part.runId}) order by modified_time`,
    )
    expect(read.length).toBeGreaterThan(100)
    between(read.map((r) => r.id))
    h.sb.resetCalls()
    const rest = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(rest.runId).toBe(part.runId)
    expect(rest.status, rest.error).toBe('succeeded')
    return rest
  }

  it('a deal edited behind the token: the deal the next page skips is still there, and Zoho equals the database', async () => {
    await fullSyncWith((read) => h.sb.editDeal(read[0]!, { Amount: 4242.42 }))
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    expect(t.db.count).toBe(600)
  })

  it('a deal deleted behind the token: the deal the next page skips is kept, and the deletion arrives with the next run', async () => {
    let gone = ''
    const full = await fullSyncWith((read) => {
      gone = read[1]!
      h.sb.deleteDeal(gone)
    })
    // Read before it was deleted, it is not the sweep's: the deleted list of the next run removes it.
    expect(full.deletions).toBe(0)
    const skipped = crmCalls(h.sb, '/crm/v8/Deals').flatMap((c) => c.query.ids?.split(',') ?? [])
    expect(skipped).toHaveLength(1)
    const next = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(next).toMatchObject({ status: 'succeeded', kind: 'incremental', deletions: 1 })
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    expect(t.db.count).toBe(599)
    const [row] = await query<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from deals where org_id = ${h.orgId} and id in (${gone}, ${skipped[0]!})`,
    )
    expect(row!.n).toBe(1)
  })
})
