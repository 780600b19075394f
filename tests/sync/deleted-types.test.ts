import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../api/src/db/client'
import { runOrgSync } from '../../api/src/sync/engine'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { connectSandbox, truth, type Harness } from './setup'

/*
 * Zoho documents `type` in /Deals/deleted as "recycle" or "permanent". A value it adds later must
 * not stop every incremental sync at the deleted list: the record is deleted all the same.
 */
describe(`a deleted-list row of a type Zoho does not document (${testDbKind})`, () => {
  let database: Database
  let h: Harness
  beforeAll(async () => {
    database = await createTestDatabase()
    h = await connectSandbox(database, { deals: 300 })
    const first = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(first.status, first.error).toBe('succeeded')
  })
  afterAll(async () => {
    await h?.close()
    await database?.close()
  })

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
