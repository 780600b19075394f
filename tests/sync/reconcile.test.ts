import { describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query } from '../../api/src/db/client'
import { DEFAULTS } from '../../api/src/sync/checkpoint'
import { runOrgSync } from '../../api/src/sync/run'
import { testDbKind } from '../helpers/db'
import { sandboxSuite, truth } from './setup'

/*
 * Zoho documents no guarantee for a page_token when the list changes under it, nor whether a deal
 * restored from the recycle bin gets a new Modified_Time. A deal an incremental run skipped for
 * such a reason lies behind the modified cursor, where no later incremental run looks. A periodic
 * full pass (which also asks Zoho about every deal it did not see) is what brings it back.
 */
describe(`a deal an incremental run skipped (${testDbKind})`, () => {
  const { database, h } = sandboxSuite({
    sandbox: { deals: 600, pageTokenPosition: 'offset' },
    firstSync: true,
  })

  it('is back, as Zoho has it, by the next full pass, at most a week after the last', async () => {
    const sync = (extra: { perPage?: number; maxPages?: number } = {}) =>
      runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0, ...extra })
    // 250 edits: an incremental run of three pages. It stops after two; a deal it read is edited a
    // minute later (beyond the cursor's overlap), which shifts the list under its page_token.
    const { edited } = h.sb.mutateRandom({ edits: 250 }, 5)
    expect((await sync({ perPage: 100, maxPages: 2 })).status).toBe('stopped')
    h.sb.advanceClock(60_000)
    h.sb.editDeal(edited[0]!, { Amount: 5150.15 })
    expect(await sync({ perPage: 100 })).toMatchObject({ status: 'succeeded', kind: 'incremental' })
    let t = await truth(h, database)
    expect(t.equal).toBe(false) // one deal's edit was skipped ...
    expect(await sync()).toMatchObject({ status: 'succeeded', kind: 'incremental' })
    t = await truth(h, database)
    expect(t.equal).toBe(false) // ... and no incremental run will read it again.

    // A week on, the next run is a full pass.
    await database.db.execute(sql`update sync_state
      set last_full_sync_at = last_full_sync_at - make_interval(days => ${DEFAULTS.fullSyncEveryDays})
      where org_id = ${h.orgId}`)
    expect(await sync()).toMatchObject({ status: 'succeeded', kind: 'full' })
    t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    const [state] = await query<{ fresh: boolean }>(
      database.db,
      sql`select last_full_sync_at > now() - interval '1 minute' as fresh from sync_state where org_id = ${h.orgId}`,
    )
    expect(state!.fresh).toBe(true)
    expect(await sync()).toMatchObject({ status: 'succeeded', kind: 'incremental' })
  })
})
