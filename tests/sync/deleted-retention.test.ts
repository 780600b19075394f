import { describe, expect, it } from 'vitest'
import { runOrgSync } from '../../api/src/sync/run'
import { testDbKind } from '../helpers/db'
import { daysPass, sandboxSuite, truth } from './setup'

/*
 * Zoho lists a deletion only for a while (60 days from the recycle bin, 120 when permanent). An org
 * whose syncs stopped for longer (a broken connection, syncs paused) cannot learn its deletions
 * from the list any more: only a full pass, whose sweep asks Zoho about every deal it did not see,
 * can.
 */
describe(`deletions older than Zoho's deleted list keeps them (${testDbKind})`, () => {
  const { database, h } = sandboxSuite({ sandbox: { deals: 400 }, firstSync: true })

  it('after two months without a sync, the next run is a full one and the deal deleted meanwhile is gone', async () => {
    const gone = String([...h.sb.deals()][0]!.id)
    h.sb.deleteDeal(gone, 'recycle')
    // 61 days pass on both sides: Zoho's recycle bin forgets the deletion, our last sync ages.
    await daysPass(h, database, 61)

    const run = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(run).toMatchObject({ status: 'succeeded', kind: 'full', deletions: 1 })
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    expect(t.db.count).toBe(399)

    // Synced recently again: incremental.
    expect(await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })).toMatchObject({
      status: 'succeeded',
      kind: 'incremental',
    })
  })
})
