import { describe, expect, it } from 'vitest'
import { runOrgSync } from '../../api/src/sync/run'
import { testDbKind } from '../helpers/db'
import { sandboxSuite, truth, type Harness } from './setup'

/*
 * The access token expires mid-sync and the refresh meets an outage of the accounts server (a
 * gateway's 503 page) or a connection dropped mid-body. Like the CRM's own 5xx and dropped
 * connections, that is retried, not the end of the run.
 */
describe(`the token endpoint failing while a sync refreshes (${testDbKind})`, () => {
  const { database, h } = sandboxSuite({ sandbox: { deals: 300 }, each: true })

  const tokenCalls = () => h.sb.calls.filter((c) => c.service === 'accounts' && c.path === '/oauth/v2/token')

  /** A sync whose first token refresh meets `fault`; the fault ends once that refresh is answered. */
  async function syncThrough(fault: Parameters<Harness['sb']['setFaults']>[0]) {
    h.sb.expireAccessTokens()
    h.sb.resetCalls()
    h.sb.setFaults({ services: ['accounts'], ...fault })
    const pending = runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    while (!tokenCalls().length) await new Promise((r) => setTimeout(r, 5))
    h.sb.setFaults({})
    const run = await pending
    expect(run.status, run.error).toBe('succeeded')
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    return tokenCalls().map((c) => c.status)
  }

  it('a 503 page from the accounts server: the refresh is retried, and the sync ends equal to Zoho', async () => {
    const statuses = await syncThrough({ rate5xx: 1 })
    expect(statuses).toEqual([503, 200])
  })

  it('the token response cut short: the refresh is retried, and the sync ends equal to Zoho', async () => {
    const statuses = await syncThrough({ dropConnectionEvery: 1 })
    expect(statuses).toHaveLength(2)
  })
})
