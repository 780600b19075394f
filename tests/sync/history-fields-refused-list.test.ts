import { describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query } from '../../api/src/db/client'
import { runOrgSync } from '../../api/src/sync/run'
import { testDbKind } from '../helpers/db'
import { crmCalls, sandboxSuite } from './setup'

/*
 * A Stage_History refusal that names no field (Zoho answers a hidden related list with INVALID_DATA,
 * its details undocumented) is retried with the minimal fields; when that is refused too, the
 * refusal was not about a field. The minimal list must not be remembered: once the admin shows the
 * list again, the next runs read history with amounts and probabilities, not only stages.
 */
describe(`Stage_History refused whatever the fields (${testDbKind})`, () => {
  const { database, h, connect } = sandboxSuite({ each: true })

  it('a narrower field list that was refused as well is not kept for later runs', async () => {
    const lacks = ['Stage']
    await connect({
      deals: 200,
      stageHistoryLacks: lacks,
      stageHistoryRefusalNamesField: false,
    })
    const first = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 5 })
    expect(first.status, first.error).toBe('succeeded')
    const history = () => crmCalls(h.sb).filter((c) => c.path.endsWith('/Stage_History'))
    // Every field, then the minimal ones: both refused, the backfill stops for the run.
    expect(history().map((c) => [c.status, c.query.fields])).toEqual([
      [400, expect.stringContaining('Amount')],
      [400, 'Stage,Modified_Time'],
    ])

    // The admin shows the list again: the next (incremental) run asks for every field.
    lacks.length = 0
    h.sb.resetCalls()
    const next = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 5 })
    expect(next.status, next.error).toBe('succeeded')
    expect(history().length).toBe(5)
    expect(history().every((c) => c.status === 200 && c.query.fields!.includes('Amount'))).toBe(true)
    const [r] = await query<{ rows: number; amounts: number }>(
      database.db,
      sql`select count(*)::int as rows, count(amount)::int as amounts
          from stage_history where org_id = ${h.orgId} and source = 'zoho'`,
    )
    expect(r!.rows).toBeGreaterThanOrEqual(5)
    expect(r!.amounts).toBeGreaterThan(0)
  })
})
