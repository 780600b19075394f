import { describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query } from '../../api/src/db/client'
import { runOrgSync } from '../../api/src/sync/run'
import { testDbKind } from '../helpers/db'
import { crmCalls, sandboxSuite } from './setup'

/*
 * Stage_History's field names are not documented first-party (zoho-crm-api.md §2.4): a real org may
 * lack one we ask for (Close_Date in particular) and refuse the whole field list with 400
 * INVALID_DATA. Such an org must still get its stage history, with what its list has.
 */
describe(`Stage_History in an org whose list lacks a field (${testDbKind})`, () => {
  const { database, h, connect } = sandboxSuite({ each: true })

  const historyCalls = () => crmCalls(h.sb).filter((c) => c.path.endsWith('/Stage_History'))
  const backfilled = async () => {
    const [r] = await query<{ deals: number; rows: number; closing: number; stages: number }>(
      database.db,
      sql`select (select count(*) from deals where org_id = ${h.orgId} and history_backfilled_at is not null)::int as deals,
                 count(*)::int as rows, count(closing_date)::int as closing, count(stage)::int as stages
          from stage_history where org_id = ${h.orgId} and source = 'zoho'`,
    )
    return r!
  }

  it('Zoho names the field it lacks: history still arrives, without closing dates, and later runs ask only for what the org has', async () => {
    await connect({ deals: 200, stageHistoryLacks: ['Close_Date'] })
    const first = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 10 })
    expect(first.status, first.error).toBe('succeeded')

    const b = await backfilled()
    expect(b.deals).toBe(10)
    expect(b.rows).toBeGreaterThanOrEqual(10)
    expect(b.stages).toBe(b.rows)
    expect(b.closing).toBe(0)
    // One refusal, then every deal read with the rest of the fields.
    const calls = historyCalls()
    expect(calls.map((c) => c.status)).toEqual([400, ...Array<number>(10).fill(200)])
    expect(calls[0]!.query.fields).toContain('Close_Date')
    expect(calls.slice(1).map((c) => c.query.fields)).toEqual(
      Array<string>(10).fill('Stage,Amount,Probability,Expected_Revenue,Modified_Time,Modified_By'),
    )
    expect(first.historyCalls).toBe(11)

    // The next run remembers the list: no refusal again.
    h.sb.resetCalls()
    const again = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 5 })
    expect(again.status, again.error).toBe('succeeded')
    expect(historyCalls().map((c) => c.status)).toEqual(Array<number>(5).fill(200))
    expect(historyCalls().every((c) => !c.query.fields!.includes('Close_Date'))).toBe(true)
    expect((await backfilled()).deals).toBe(15)

    // A full pass asks once for every field again (the org may have added it back), then narrows.
    h.sb.resetCalls()
    const full = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', kind: 'full', historyBudget: 3 })
    expect(full.status, full.error).toBe('succeeded')
    expect(historyCalls().map((c) => c.status)).toEqual([400, 200, 200, 200])
    expect((await backfilled()).deals).toBe(18)
  })

  it('Zoho refuses the field list without naming a field: history arrives with the minimal fields', async () => {
    await connect({
      deals: 200,
      stageHistoryLacks: ['Close_Date'],
      stageHistoryRefusalNamesField: false,
    })
    const run = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 10 })
    expect(run.status, run.error).toBe('succeeded')
    const b = await backfilled()
    expect(b.deals).toBe(10)
    expect(b.rows).toBeGreaterThanOrEqual(10)
    expect(b.closing).toBe(0)
    const calls = historyCalls()
    expect(calls[0]!.status).toBe(400)
    expect(calls.slice(1).map((c) => [c.status, c.query.fields])).toEqual(
      Array(10).fill([200, 'Stage,Modified_Time']),
    )
  })

  it('a related list the org does not offer at all still ends the backfill for the run, as before', async () => {
    await connect({
      deals: 200,
      stageHistoryLacks: ['Stage'],
    })
    const run = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 10 })
    expect(run.status, run.error).toBe('succeeded')
    expect((await backfilled()).deals).toBe(0)
    // Refused once: Stage cannot be dropped, so nothing narrower is tried.
    expect(historyCalls().map((c) => c.status)).toEqual([400])
  })
})
