import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientForOrg } from '../../api/src/zoho/client'
import { TokenRegistry } from '../../api/src/zoho/connection'
import { ZohoApiError, ZohoRateLimitError } from '../../api/src/zoho/errors'
import { testDbKind } from '../helpers/db'
import { connect, crmCalls, startZohoTestEnv, type ZohoTestEnv } from './setup'

/** A 429 that outlasts the retries, with no X-API-CREDITS-REMAINING header (under half the credits used). */
describe(`Zoho client: a persistent 429 (${testDbKind})`, () => {
  let env: ZohoTestEnv
  let orgId: string
  beforeAll(async () => {
    env = await startZohoTestEnv({ deals: 10, dailyCredits: 100_000 })
    orgId = await connect(env)
  })
  afterAll(() => env.close())

  it('is a ZohoRateLimitError (still a ZohoApiError 429) naming the call and how often it was refused', async () => {
    const c = await clientForOrg(env.database.db, env.config, orgId, fetch, {
      sleep: env.sleep,
      registry: new TokenRegistry(),
      maxRetries: 2,
    })
    env.sandbox.setFaults({ rate429: 1 })
    env.sandbox.resetCalls()
    const err = await c.getRoles().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ZohoRateLimitError)
    // Callers that handle Zoho API errors (sign-in's 502 page, the sync's transient retries) still do.
    expect(err).toBeInstanceOf(ZohoApiError)
    expect(err).toMatchObject({ status: 429, code: 'TOO_MANY_REQUESTS', attempts: 3 })
    expect((err as Error).message).toMatch(/refused 3 times in a row \(GET \/crm\/v8\/settings\/roles\)$/)
    expect(crmCalls(env.sandbox).map((x) => x.status)).toEqual([429, 429, 429])
    expect(c.stats.creditsRemaining).toBeNull()
  })
})
