import { describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query } from '../../api/src/db/client'
import { DEFAULTS } from '../../api/src/sync/checkpoint'
import { runOrgSync } from '../../api/src/sync/run'
import { testDbKind } from '../helpers/db'
import { sandboxSuite, syncContext, truth } from './setup'

/*
 * Zoho documents no guarantee for a page_token when the list changes under it. This sandbox's
 * tokens here remember a position ('offset'), the worst case: a deal an incremental run has read
 * that is edited (it moves to the end of the Modified_Time order) or deleted behind the token makes
 * the next page skip one deal, which lies behind the modified cursor. The run sees the edited deal
 * come again (or its deletion), and the next incremental run reads again from where the skipped
 * deal can be. What no incremental run can see (say, a deal restored from the recycle bin with its
 * old Modified_Time) the weekly full pass brings back.
 */
describe(`deals an incremental run skipped (${testDbKind})`, () => {
  const { database, h } = sandboxSuite({
    sandbox: { deals: 600, pageTokenPosition: 'offset' },
    firstSync: true,
  })
  const sync = (extra: { perPage?: number; maxPages?: number } = {}) =>
    runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0, perPage: 100, ...extra })

  /**
   * 250 edits: an incremental run of three pages of 100. It stops after two; `behindTheToken`
   * changes a deal the run has read a minute later (beyond the cursor's overlap), shifting the list.
   */
  async function shiftUnderTheToken(seed: number, behindTheToken: (deal: string) => void) {
    const { edited } = h.sb.mutateRandom({ edits: 250 }, seed)
    expect((await sync({ maxPages: 2 })).status).toBe('stopped')
    h.sb.advanceClock(60_000)
    behindTheToken(edited[0]!)
    expect(await sync()).toMatchObject({ status: 'succeeded', kind: 'incremental' })
  }

  it('an edit behind the page_token: the deal skipped is read by the next incremental run', async () => {
    await shiftUnderTheToken(5, (id) => h.sb.editDeal(id, { Amount: 5150.15 }))
    expect((await truth(h, database)).equal).toBe(false) // one deal was skipped ...
    const next = await sync()
    expect(next).toMatchObject({ status: 'succeeded', kind: 'incremental' })
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true) // ... and read again, reading no more than the run before
    expect(next.read).toBeGreaterThan(200)
    expect(next.read).toBeLessThanOrEqual(300)
    // Nothing moved under this one: the run after it reads from the newest deal on.
    expect((await sync()).read).toBeLessThan(100)
  })

  it('an edit behind the page_token while the run goes on: likewise', async () => {
    const { edited } = h.sb.mutateRandom({ edits: 250 }, 7)
    let deals = 0
    // Before the run's third Deals request, a minute on, a deal on its first page is edited.
    const ctx = syncContext(database, h.config, (input, init) => {
      if (String(input).includes('/crm/v8/Deals?') && ++deals === 3) {
        h.sb.advanceClock(60_000)
        h.sb.editDeal(edited[0]!, { Amount: 7250.25 })
      }
      return globalThis.fetch(input, init)
    })
    const run = await runOrgSync(ctx, h.orgId, { trigger: 'manual', historyBudget: 0, perPage: 100 })
    expect(run).toMatchObject({ status: 'succeeded', kind: 'incremental' })
    expect((await truth(h, database)).equal).toBe(false)
    expect(await sync()).toMatchObject({ status: 'succeeded', kind: 'incremental' })
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
  })

  it('a deletion behind the page_token: likewise', async () => {
    await shiftUnderTheToken(6, (id) => h.sb.deleteDeal(id))
    expect((await truth(h, database)).equal).toBe(false)
    expect(await sync()).toMatchObject({ status: 'succeeded', kind: 'incremental' })
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
  })

  it('a deal behind the cursor that no incremental run sees is back, as Zoho has it, by the next full pass, at most a week after the last', async () => {
    // As a deal restored from the recycle bin with its old Modified_Time would be: not stored here.
    const [gone] = await query<{ id: string }>(
      database.db,
      sql`delete from deals where org_id = ${h.orgId}
          and id = (select min(id) from deals where org_id = ${h.orgId}) returning id`,
    )
    expect(gone).toBeTruthy()
    expect(await sync()).toMatchObject({ status: 'succeeded', kind: 'incremental' })
    expect((await truth(h, database)).equal).toBe(false)

    // A week on, the next run is a full pass.
    await database.db.execute(sql`update sync_state
      set last_full_sync_at = last_full_sync_at - make_interval(days => ${DEFAULTS.fullSyncEveryDays})
      where org_id = ${h.orgId}`)
    expect(await sync()).toMatchObject({ status: 'succeeded', kind: 'full' })
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    const [state] = await query<{ fresh: boolean }>(
      database.db,
      sql`select last_full_sync_at > now() - interval '1 minute' as fresh from sync_state where org_id = ${h.orgId}`,
    )
    expect(state!.fresh).toBe(true)
    expect(await sync()).toMatchObject({ status: 'succeeded', kind: 'incremental' })
  })
})

describe(`deals a full sync skipped (${testDbKind})`, () => {
  const { database, connect } = sandboxSuite({ each: true })

  /**
   * A first full sync, in pages of 100, of an org whose page_tokens remember a position: before its
   * third Deals request, a minute on, the first deal it read is edited, and the next page skips a
   * deal it never stored. Then an incremental run.
   */
  async function firstSyncShifted(deals: number) {
    const h = await connect({ deals, pageTokenPosition: 'offset' })
    const first = String([...h.sb.deals()][0]!.id)
    let requests = 0
    const ctx = syncContext(database, h.config, (input, init) => {
      if (String(input).includes('/crm/v8/Deals?') && ++requests === 3) {
        h.sb.advanceClock(60_000)
        h.sb.editDeal(first, { Amount: 4321.5 })
      }
      return globalThis.fetch(input, init)
    })
    const full = await runOrgSync(ctx, h.orgId, { trigger: 'manual', historyBudget: 0, perPage: 100 })
    expect(full).toMatchObject({ status: 'succeeded', kind: 'full' })
    const t = await truth(h, database)
    expect(t.equal).toBe(false)
    expect(t.db.count).toBe(deals - 1) // the deal skipped was never stored
    const next = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(next).toMatchObject({ status: 'succeeded', kind: 'incremental' })
    return { h, next }
  }

  it('the new deal skipped is read by the next incremental run, when few deals lie past the shift', async () => {
    const { h, next } = await firstSyncShifted(600)
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    expect(next.read).toBeLessThanOrEqual(600)
  })

  it('past DEFAULTS.rereadMaxDeals a full pass comes due a day later: a first sync is not read twice at once', async () => {
    const { h, next } = await firstSyncShifted(DEFAULTS.rereadMaxDeals + 300)
    expect(next.read).toBeLessThan(100)
    expect((await truth(h, database)).equal).toBe(false)
    const dueInHours = async () =>
      (
        await query<{ h: number | null }>(
          database.db,
          sql`select (extract(epoch from full_sync_due_at - now()) / 3600)::float8 as h
              from sync_state where org_id = ${h.orgId}`,
        )
      )[0]!.h
    const due = await dueInHours()
    expect(due).toBeGreaterThan(DEFAULTS.rerunFirstFullAfterHours - 0.1)
    expect(due).toBeLessThanOrEqual(DEFAULTS.rerunFirstFullAfterHours)

    // A day on (the due time moved back, as the clock cannot be): the full pass reads the deal.
    await database.db.execute(
      sql`update sync_state set full_sync_due_at = now() - interval '1 second' where org_id = ${h.orgId}`,
    )
    const full = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(full).toMatchObject({ status: 'succeeded', kind: 'full' })
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    // Done: no further full pass is due, even had this one's list shifted too.
    expect(await dueInHours()).toBeNull()
    expect(await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })).toMatchObject({
      status: 'succeeded',
      kind: 'incremental',
    })
  })
})
