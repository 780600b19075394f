import { describe, expect, it } from 'vitest'
import { runOrgSync } from '../../api/src/sync/run'
import { testDbKind } from '../helpers/db'
import { sandboxSuite, truth } from './setup'

/*
 * Zoho documents `type` in /Deals/deleted as "recycle" or "permanent". A value it adds later must
 * not stop every incremental sync at the deleted list: the record is deleted all the same.
 */
describe(`a deleted-list row of a type Zoho does not document (${testDbKind})`, () => {
  const { database, h } = sandboxSuite({ sandbox: { deals: 300 }, firstSync: true })

  it('is read as a deletion, and the rest of the list still applies', async () => {
    const [a, b] = [...h.sb.deals()].slice(0, 2).map((d) => String(d.id))
    h.sb.deleteDeal(a!, 'archived')
    h.sb.deleteDeal(b!, 'recycle')
    const run = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(run, run.error).toMatchObject({ status: 'succeeded', kind: 'incremental', deletions: 2 })
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    expect(t.db.count).toBe(298)
  })
})
