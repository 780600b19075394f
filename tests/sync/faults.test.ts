import { describe, expect, it } from 'vitest'
import { runOrgSync } from '../../api/src/sync/run'
import { testDbKind } from '../helpers/db'
import { crmCalls, sandboxSuite, truth } from './setup'

/** Each case: a full sync through injected faults, then edits and an incremental through them too. */
describe(`sync through Zoho faults (${testDbKind})`, () => {
  const { database, h, connect } = sandboxSuite({ each: true })

  async function syncBothWays(perPage: number) {
    const full = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0, perPage })
    expect(full.status, full.error).toBe('succeeded')
    let t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    h.sb.mutateRandom({ edits: 30, deletes: 10, creates: 10 }, 3)
    const inc = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0, perPage })
    expect(inc.status, inc.error).toBe('succeeded')
    t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
  }

  it('5% 429s and 2% 500s', async () => {
    await connect({ deals: 500 })
    h.sb.setFaults({ rate429: 0.05, rate5xx: 0.02, seed: 11 })
    await syncBothWays(50)
    const failed = crmCalls(h.sb).filter((c) => c.status === 429 || c.status === 500)
    expect(failed.length).toBeGreaterThan(0)
  })

  it('the access token expiring every 40 calls', async () => {
    await connect({ deals: 500 })
    h.sb.setFaults({ expireTokenEveryCalls: 40, seed: 5 })
    await syncBothWays(10) // ≈ 60 calls: the token expires at least once
    expect(crmCalls(h.sb).filter((c) => c.status === 401).length).toBeGreaterThan(0)
  })

  it('a connection dropped mid-page', async () => {
    await connect({ deals: 500 })
    h.sb.setFaults({ dropConnectionEvery: 4, seed: 2 })
    await syncBothWays(100)
  })
})
