import { beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { runJob } from '../../api/src/jobs'
import { testDbKind } from '../helpers/db'
import { insertOrg } from '../fx/helpers'
import { sandboxSuite, truth } from './setup'

/*
 * The scheduled sync over two connected orgs, one of which cannot sync (its stored refresh token
 * unreadable, as after a SECRET_KEY change): the healthy org is synced, and the failing one is
 * named in the job's result and sent to the error tracker (Sentry when SENTRY_DSN is set), tagged
 * with the job and the org, though the job as a whole succeeded.
 */
const BROKEN = '9007199254740997011'

describe(`sync job with a failing org (${testDbKind})`, () => {
  const { database, h } = sandboxSuite({ sandbox: { deals: 200 } })
  beforeAll(async () => {
    await insertOrg(database.db, BROKEN, 'SGD')
    await database.db.execute(
      sql`insert into zoho_connections (org_id, accounts_server, api_domain, refresh_token_enc, status)
          values (${BROKEN}, ${h.config.ZOHO_ACCOUNTS_URL}, ${h.config.ZOHO_API_DOMAIN}, 'not-a-sealed-token', 'active')`,
    )
  })

  it('syncs the healthy org and reports the failing one by id', async () => {
    const reported: { message: string; tags: Record<string, string> }[] = []
    const result = await runJob('sync', {
      ...h.ctx,
      reportError: (err, tags) => void reported.push({ message: (err as Error).message, tags }),
    })
    expect(result).toMatchObject({
      orgs: 2,
      succeeded: 1,
      failed: 1,
      failedOrgs: [{ orgId: BROKEN, error: expect.any(String) }],
    })
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    expect(reported).toEqual([
      {
        message: expect.stringContaining(`sync job failed for org ${BROKEN}`),
        tags: { job: 'sync', org_id: BROKEN },
      },
    ])
  })
})
