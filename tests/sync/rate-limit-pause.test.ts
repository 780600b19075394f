import { describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query, type Database } from '../../api/src/db/client'
import { runOrgSync } from '../../api/src/sync/run'
import { isPausedRun } from '../../shared/contracts/sync'
import { testDbKind } from '../helpers/db'
import { crmCalls, sandboxSuite, syncContext, truth } from './setup'

async function runRow(database: Database, runId: string) {
  const [r] = await query<{
    status: string
    error: string | null
    records: number
    credits_remaining: number | null
  }>(database.db, sql`select status, error, records, credits_remaining from sync_runs where id = ${runId}`)
  return r!
}

/**
 * Zoho answers 429 both when the org's 24-hour credits are spent and when too many calls are in
 * flight, and says which in neither case (zoho-crm-api.md §5.3). Below half the allowance there is
 * no X-API-CREDITS-REMAINING header either: a 429 that outlasts the retries must still pause.
 */
describe(`a persistent 429 without the credits header (${testDbKind})`, () => {
  const { database, h, connect } = sandboxSuite({ each: true })

  it('pauses the run with what it read kept, and the next run continues from the checkpoint', async () => {
    await connect({ deals: 500 })
    // Once the second Deals page is in, every CRM call answers 429 (the sandbox's fault injection).
    let dealsRead = 0
    const ctx = syncContext(database, h.config, async (input, init) => {
      const res = await globalThis.fetch(input, init)
      if (String(input).includes('/crm/v8/Deals?') && res.ok && ++dealsRead === 2)
        h.sb.setFaults({ rate429: 1 })
      return res
    })
    h.sb.resetCalls()
    const opts = { trigger: 'cron', historyBudget: 0, perPage: 100 } as const
    const paused = await runOrgSync(ctx, h.orgId, opts)
    expect(paused.status, paused.error).toBe('stopped')
    expect(paused.error).toMatch(/^Paused: .*429/)
    const row = await runRow(database, paused.runId!)
    // Open, with its reason: the Sync page shows it paused. Zoho never sent the credits header.
    expect(isPausedRun(row)).toBe(true)
    expect(row).toMatchObject({ status: 'running', records: 200, credits_remaining: null })
    const refused = crmCalls(h.sb).filter((c) => c.status === 429)
    expect(refused.length).toBeGreaterThan(0)
    expect(crmCalls(h.sb).every((c) => c.status === 200 || c.status === 429)).toBe(true)

    // Zoho lets calls through again: the next invocation continues the same run.
    h.sb.setFaults({})
    const resumed = await runOrgSync(ctx, h.orgId, opts)
    expect(resumed).toMatchObject({ runId: paused.runId, status: 'succeeded', records: 500 })
    expect((await runRow(database, paused.runId!)).error).toBeNull()
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    // Each page was read once; the only repeats were the refused calls.
    expect(crmCalls(h.sb, '/crm/v8/Deals').filter((c) => c.status === 200).length).toBe(5)
  })
})
