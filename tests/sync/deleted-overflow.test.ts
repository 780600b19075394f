import { describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query } from '../../api/src/db/client'
import { DEFAULTS } from '../../api/src/sync/checkpoint'
import { runOrgSync } from '../../api/src/sync/run'
import { testDbKind } from '../helpers/db'
import { sandboxSuite, truth } from './setup'

/** More deletions than one run can list: Zoho's deleted list has no documented order to resume by. */
const LISTABLE = DEFAULTS.deletedMaxPages * 200

describe(`a mass delete beyond the deleted list's pages (${testDbKind})`, () => {
  const { database, h } = sandboxSuite({ sandbox: { deals: LISTABLE + 400 } })

  it('the next run is a full sync, and every deleted deal is gone from the figures', async () => {
    const sync = () => runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect((await sync()).status).toBe('succeeded')
    const ids = [...h.sb.deals()].slice(0, LISTABLE + 300).map((d) => String(d.id))
    for (const id of ids) h.sb.deleteDeal(id, 'recycle')

    const first = await sync()
    expect(first).toMatchObject({ status: 'succeeded', kind: 'incremental', deletions: LISTABLE })
    const [state] = await query<{ full_sync_due: boolean }>(
      database.db,
      sql`select full_sync_due from sync_state where org_id = ${h.orgId}`,
    )
    expect(state!.full_sync_due).toBe(true)

    const second = await sync()
    expect(second).toMatchObject({ status: 'succeeded', kind: 'full' })
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    expect(t.db.count).toBe(100)

    // Once the full sync has swept, runs are incremental again.
    expect(await sync()).toMatchObject({ status: 'succeeded', kind: 'incremental' })
  })
})
