import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query, type Database } from '../../api/src/db/client'
import { runJob } from '../../api/src/jobs'
import { createLogger } from '../../api/src/observability/logger'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { insertDeals, insertOrg, testConfig } from '../fx/helpers'

/*
 * The hourly snapshot job over several orgs, one of which cannot be snapshotted: the others still
 * get their snapshot of the day just ended, and the failure is logged with the org's id and counted
 * in the job's result. (Here, not in tests/analytics: vitest.config.ts runs no suite from there.)
 */
const BROKEN_TZ = '9007199254740997001' // first in id order: the job meets it first
const LATER_SNAPSHOT = '9007199254740997002'
const HEALTHY = '9007199254740997003'

describe(`snapshot job with a failing org (${testDbKind})`, () => {
  let database: Database
  const lines: Record<string, unknown>[] = []
  const now = new Date('2026-03-10T02:00:00Z')

  beforeAll(async () => {
    database = await createTestDatabase()
    const db = database.db
    for (const id of [BROKEN_TZ, LATER_SNAPSHOT, HEALTHY]) {
      await insertOrg(db, id, 'SGD')
      await insertDeals(db, id, [
        { id: '1', amount: '100', currency: 'SGD', state: 'open', closingDate: '2026-04-01' },
      ])
      await db.execute(
        sql`update deals set created_time = '2026-03-01T00:00:00Z', amount_sgd = amount where org_id = ${id}`,
      )
    }
    // A time zone name neither Intl nor PostgreSQL knows, as a CRM could send it.
    await db.execute(sql`update orgs set time_zone = 'Mars/Olympus_Mons' where id = ${BROKEN_TZ}`)
    await db.execute(
      sql`update orgs set time_zone = 'Asia/Singapore' where id in (${LATER_SNAPSHOT}, ${HEALTHY})`,
    )
    // Snapshot versions of a later day than the job's (copied from elsewhere, sync_state lost): the
    // snapshot of 2026-03-09 cannot be written.
    await db.execute(
      sql`insert into deal_snapshots (org_id, deal_id, valid_from, stage, state)
          values (${LATER_SNAPSHOT}, '1', '2026-03-20', 'open', 'open')`,
    )
  })
  afterAll(async () => {
    await database?.close()
  })

  it('snapshots the healthy org and reports each failing org by id', async () => {
    const ctx = {
      config: testConfig(),
      db: database.db,
      logger: createLogger('debug', (l) => void lines.push(JSON.parse(l) as Record<string, unknown>)),
      fetch: globalThis.fetch,
      now: () => now,
    }
    const result = await runJob('snapshot', ctx)
    expect(result).toMatchObject({
      orgs: 1,
      failed: 2,
      failedOrgs: [
        { orgId: BROKEN_TZ, error: expect.stringMatching(/time zone/i) },
        { orgId: LATER_SNAPSHOT, error: expect.stringMatching(/cannot be rewritten/) },
      ],
    })
    const [state] = await query<{ day: string | null }>(
      database.db,
      sql`select last_snapshot_day::text as day from sync_state where org_id = ${HEALTHY}`,
    )
    expect(state?.day).toBe('2026-03-09')
    const [versions] = await query<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from deal_snapshots where org_id = ${HEALTHY} and valid_from = '2026-03-09'`,
    )
    expect(versions?.n).toBe(1)

    const failures = lines.filter((l) => l.msg === 'snapshot failed')
    expect(failures.map((l) => [l.level, l.orgId])).toEqual([
      ['error', BROKEN_TZ],
      ['error', LATER_SNAPSHOT],
    ])
    expect(lines.find((l) => l.msg === 'job done')).toMatchObject({
      level: 'warn',
      job: 'snapshot',
      failed: 2,
    })
  })
})
