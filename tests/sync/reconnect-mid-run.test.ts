import { describe, expect, it } from 'vitest'
import { bootstrapConnection } from '../../api/src/sync/bootstrap'
import { runOrgSync } from '../../api/src/sync/run'
import { testDbKind } from '../helpers/db'
import { crmCalls, sandboxSuite } from './setup'

/*
 * A page_token is bound to the user who got it: another user's token is refused with 400
 * INVALID_DATA. An admin reconnecting Zoho as someone else while a run waits at a checkpoint (paused,
 * budget-stopped, or failed and continued by the next run) leaves that run holding such a token.
 */
describe(`Zoho reconnected as another user mid-run (${testDbKind})`, () => {
  const { h } = sandboxSuite({ sandbox: { deals: 600 } })

  it("the run continues from its checkpoint with a new window instead of failing on the old user's page_token", async () => {
    const part = await runOrgSync(h.ctx, h.orgId, {
      trigger: 'manual',
      historyBudget: 0,
      perPage: 100,
      maxPages: 3,
    })
    expect(part.status).toBe('stopped')
    // The same org, connected again from another user's Self Client refresh token.
    const other = h.sb.users.all.find((u) => u.profile === 'Standard' && u.status === 'active')!
    const again = await bootstrapConnection(h.ctx, h.sb.issueRefreshToken(other.id))
    expect(again.orgId).toBe(h.orgId)
    h.sb.resetCalls()
    const rest = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0, perPage: 100 })
    expect(rest.runId).toBe(part.runId)
    expect(rest.status, rest.error).toBe('succeeded')
    // One refused page, then the window opened again without the token.
    const refused = crmCalls(h.sb, '/crm/v8/Deals').filter((c) => c.status === 400)
    expect(refused).toHaveLength(1)
  })
})
