import { afterAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query, type Database, type Db } from '../../api/src/db/client'
import { bootstrapConnection } from '../../api/src/sync/bootstrap'
import { runOrgSync } from '../../api/src/sync/run'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { sandboxSuite, syncContext } from './setup'

/** Every column the stage picklist and the pricing decide, per deal. */
async function derived(db: Db, orgId: string) {
  return query<Record<string, unknown>>(
    db,
    sql`select id, stage, state, forecast_category, probability, effective_probability, amount_sgd::text,
               weighted_sgd::text, fx_rate::text, fx_date::text, fx_source, fx_estimated
        from deals where org_id = ${orgId} order by id`,
  )
}

/*
 * An admin removes stages from the Zoho Stage picklist; the deals in them keep that Stage value and
 * are not modified. The next metadata refresh must leave them as a full sync would store them: state
 * unknown (neither open nor won/lost), no forecast category, only their own probability, priced as
 * unknown deals are (a won deal leaves its closing week's set).
 */
describe(`deals in a stage removed from the picklist (${testDbKind})`, () => {
  // A seed of its own: removed stages are kept per sandbox org for the whole test file.
  const { database, h } = sandboxSuite({ sandbox: { deals: 400, seed: 4242 } })
  let fresh: Database | undefined
  afterAll(async () => {
    await fresh?.close()
  })

  it('become state unknown at the next metadata refresh, as a full sync stores them', async () => {
    const full = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(full.status).toBe('succeeded')
    const before = new Map((await derived(database.db, h.orgId)).map((d) => [d.id, d]))
    const removed = ['Closed Won', 'Value Proposition']
    const inRemoved = [...before.values()].filter((d) => removed.includes(d.stage as string))
    for (const s of removed) expect(inRemoved.filter((d) => d.stage === s).length, s).toBeGreaterThan(0)

    for (const s of removed) {
      const res = await fetch(`${h.sb.url}/__sandbox/stages/${encodeURIComponent(s)}`, { method: 'DELETE' })
      expect(res.status).toBe(200)
    }
    // The picklist is older than its maximum age: the next incremental run re-reads it.
    await database.db.execute(
      sql`update sync_state set metadata_refreshed_at = now() - interval '25 hours' where org_id = ${h.orgId}`,
    )
    const inc = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(inc.status).toBe('succeeded')
    expect(inc.kind).toBe('incremental')

    const after = new Map((await derived(database.db, h.orgId)).map((d) => [d.id, d]))
    for (const b of inRemoved) {
      const d = after.get(b.id)!
      expect(d).toMatchObject({
        stage: b.stage,
        state: 'unknown',
        forecast_category: null,
        effective_probability: b.probability,
      })
    }
    // Formerly won deals priced from a provider set left their closing week's (estimated: the
    // free plan has no historical sets) for the newest set, as open and unknown deals take.
    const newest = [...after.values()].find((d) => d.state === 'open' && d.fx_source === 'provider')!.fx_date
    const wonAbroad = inRemoved.filter((d) => d.state === 'won' && String(d.fx_source).startsWith('provider'))
    expect(wonAbroad.filter((b) => b.fx_estimated).length).toBeGreaterThan(0)
    for (const b of wonAbroad)
      expect(after.get(b.id)).toMatchObject({ fx_source: 'provider', fx_date: newest, fx_estimated: false })
    // Deals in the stages still there are untouched.
    for (const [id, b] of before) if (!removed.includes(b.stage as string)) expect(after.get(id)).toEqual(b)

    // Exactly what a fresh full sync of the same CRM stores, prices and rate sets included.
    fresh = await createTestDatabase()
    const ctx2 = syncContext(fresh, h.config)
    const { orgId } = await bootstrapConnection(ctx2, h.sb.issueRefreshToken())
    const again = await runOrgSync(ctx2, orgId, { trigger: 'manual', historyBudget: 0 })
    expect(again.status).toBe('succeeded')
    expect([...after.values()]).toEqual(await derived(fresh.db, orgId))
  })
})
