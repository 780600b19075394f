import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query, type Database } from '../../api/src/db/client'
import { takeSnapshot } from '../../api/src/analytics/snapshot'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { insertDeals, insertOrg } from '../fx/helpers'

/*
 * deals.snapshot_push_count, which the risk list reads for "slipping" instead of every snapshot
 * version: kept by takeSnapshot as the moves later of the closing date along the deal's versions,
 * including when a day is snapshotted again after the deal changed back.
 */
const ORG = '9007199254740998001'

describe(`snapshot push count (${testDbKind})`, () => {
  let database: Database
  const setClose = (id: string, day: string) =>
    database.db.execute(sql`update deals set closing_date = ${day} where org_id = ${ORG} and id = ${id}`)
  const counts = async () =>
    Object.fromEntries(
      (
        await query<{ id: string; n: number }>(
          database.db,
          sql`select id, snapshot_push_count as n from deals where org_id = ${ORG} order by id`,
        )
      ).map((r) => [r.id, r.n]),
    )

  beforeAll(async () => {
    database = await createTestDatabase()
    await insertOrg(database.db, ORG, 'SGD')
    await insertDeals(database.db, ORG, [
      { id: 'slips', amount: '100', currency: 'SGD', state: 'open', closingDate: '2026-04-01' },
      { id: 'wobbles', amount: '100', currency: 'SGD', state: 'open', closingDate: '2026-04-01' },
      { id: 'still', amount: '100', currency: 'SGD', state: 'open', closingDate: '2026-04-01' },
    ])
    await database.db.execute(
      sql`update deals set created_time = '2026-02-01T00:00:00Z', amount_sgd = amount where org_id = ${ORG}`,
    )
  })
  afterAll(async () => {
    await database?.close()
  })

  it('counts each move later along the versions, not moves earlier, and recounts a re-run day', async () => {
    await takeSnapshot(database.db, ORG, '2026-03-01')
    expect(await counts()).toEqual({ slips: 0, still: 0, wobbles: 0 })

    await setClose('slips', '2026-05-01')
    await setClose('wobbles', '2026-03-15') // earlier: not a push
    await takeSnapshot(database.db, ORG, '2026-03-02')
    await setClose('slips', '2026-06-01')
    await setClose('wobbles', '2026-04-15') // later again: one push
    await takeSnapshot(database.db, ORG, '2026-03-03')
    expect(await counts()).toEqual({ slips: 2, still: 0, wobbles: 1 })

    // The same day again after `slips` moved once more: its 03-03 version is replaced, still two.
    await setClose('slips', '2026-07-01')
    await takeSnapshot(database.db, ORG, '2026-03-03')
    expect(await counts()).toEqual({ slips: 2, still: 0, wobbles: 1 })
    await setClose('slips', '2026-08-01')
    await takeSnapshot(database.db, ORG, '2026-03-04')
    expect(await counts()).toEqual({ slips: 3, still: 0, wobbles: 1 })

    // Re-run of 2026-03-04 after `slips` went back to its date of 03-03: its version of 03-04 is
    // gone (the deal has no version of that day now), and with it the third move.
    await setClose('slips', '2026-07-01')
    await takeSnapshot(database.db, ORG, '2026-03-04')
    expect(await counts()).toEqual({ slips: 2, still: 0, wobbles: 1 })
  })
})
