import { isDeepStrictEqual } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query, type Database, type Db } from '../../api/src/db/client'
import { analyticsContext, resolvePeriod } from '../../api/src/analytics/context'
import { pipelineSummary } from '../../api/src/analytics/summary'
import { bootstrapConnection } from '../../api/src/sync/bootstrap'
import { runOrgSync } from '../../api/src/sync/run'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { sandboxSuite, syncContext, truth } from './setup'

/** Every column the stage picklist and the pricing decide, per deal. */
async function derived(db: Db, orgId: string) {
  return query<Record<string, unknown>>(
    db,
    sql`select id, stage, state, forecast_category, probability, effective_probability, amount_sgd::text,
               weighted_sgd::text, fx_rate::text, fx_date::text, fx_source, fx_estimated
        from deals where org_id = ${orgId} order by id`,
  )
}

/**
 * Each deal's row version (xmin: a rewrite, even to equal values, changes it) and when a sync last
 * wrote it from its Zoho record (synced_at).
 */
async function versions(db: Db, orgId: string) {
  return query<{ id: string; v: string }>(
    db,
    sql`select id, xmin::text || '@' || synced_at::text as v from deals where org_id = ${orgId}`,
  )
}

async function summary(db: Db, orgId: string, userId: string) {
  const ctx = await analyticsContext(db, { orgId, userId, role: 'admin' }, new Date())
  const { asOf: _asOf, ...rest } = await pipelineSummary(ctx, {}, resolvePeriod(ctx, {}))
  return rest
}

describe(`stage picklist changes reach stored deals (${testDbKind})`, () => {
  // FX plan 'free' (no historical sets): which sets a database holds then never depends on its
  // sync history or the per-run call budget, so a fresh full sync is comparable to the end.
  const { database, h } = sandboxSuite({ sandbox: { deals: 500 } })
  let fresh: Database | undefined
  afterAll(async () => {
    await fresh?.close()
  })

  it('an incremental run that refreshes the picklist re-maps and re-prices the deals of changed stages', async () => {
    const full = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(full.status).toBe('succeeded')
    const before = new Map((await derived(database.db, h.orgId)).map((d) => [d.id, d]))
    const versionsBefore = new Map((await versions(database.db, h.orgId)).map((r) => [r.id, r.v]))
    const inStage = (stage: string) => [...before.values()].filter((d) => d.stage === stage)
    // Each changed stage holds deals (else the test proves nothing).
    for (const s of ['Proposal/Price Quote', 'Closed Lost to Competition', 'Closed Won'])
      expect(inStage(s).length, s).toBeGreaterThan(0)
    // An open stage with deals that have no Probability of their own: they take its default.
    const [probStage] = await query<{ stage: string; p: number }>(
      database.db,
      sql`select d.stage, s.probability as p from deals d join stages s on s.org_id = d.org_id
            and s.display_value = d.stage
          where d.org_id = ${h.orgId} and d.state = 'open' and d.probability is null
            and d.stage <> 'Proposal/Price Quote'
          group by d.stage, s.probability order by count(*) desc, d.stage limit 1`,
    )
    const moved = probStage!.stage
    const newP = probStage!.p === 35 ? 45 : 35

    // An admin edits the Stage picklist; no deal is modified.
    h.sb.setStage(moved, { probability: newP, forecast_category: 'Omitted' })
    h.sb.setStage('Proposal/Price Quote', { deal_category: 'Closed Won', forecast_category: 'Closed' })
    // Matched on its actual value, which differs from the display value the deals hold.
    h.sb.setStage('Closed-Lost to Competition', { deal_category: 'Open', forecast_category: 'Pipeline' })
    h.sb.setStage('Closed Won', { probability: 90 })

    // The picklist is older than its maximum age: the next incremental run re-reads it.
    await database.db.execute(
      sql`update sync_state set metadata_refreshed_at = now() - interval '25 hours' where org_id = ${h.orgId}`,
    )
    const inc = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(inc.status).toBe('succeeded')
    expect(inc.kind).toBe('incremental')
    expect(inc.records).toBe(0)
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)

    const after = await derived(database.db, h.orgId)
    const of = (stage: string) => after.filter((d) => d.stage === stage)
    // Deals whose values did not change are not rewritten (same row version: no dead rows).
    const same = moved === 'Qualification' ? 'Needs Analysis' : 'Qualification'
    expect(of(same).length).toBeGreaterThan(0)
    for (const d of of(same)) expect(d).toEqual(before.get(d.id))
    const unchanged = new Set(after.filter((d) => isDeepStrictEqual(d, before.get(d.id))).map((d) => d.id))
    expect(unchanged.size).toBeGreaterThan(0)
    expect(unchanged.size).toBeLessThan(after.length)
    // (The run itself re-reads the last modified record through its cursor overlap: synced_at moves.)
    const syncedAt = (v: string | undefined) => v?.slice(v.indexOf('@'))
    const rewritten = (await versions(database.db, h.orgId)).filter((r) => {
      const b = versionsBefore.get(r.id)
      return unchanged.has(r.id) && r.v !== b && syncedAt(r.v) === syncedAt(b)
    })
    expect(rewritten).toEqual([])

    expect(of(moved).every((d) => d.forecast_category === 'Omitted')).toBe(true)
    for (const d of of(moved)) expect(d.effective_probability).toBe((d.probability as number | null) ?? newP)
    expect(
      of('Proposal/Price Quote').every((d) => d.state === 'won' && d.forecast_category === 'Closed'),
    ).toBe(true)
    expect(of('Closed Lost to Competition').every((d) => d.state === 'open')).toBe(true)
    // Their rate set follows the state: won/lost by closing Monday, open the newest set.
    const repriced = [...of('Proposal/Price Quote'), ...of('Closed Lost to Competition')].filter((d) => {
      const b = before.get(d.id)!
      return d.fx_date !== b.fx_date || d.fx_source !== b.fx_source || d.fx_estimated !== b.fx_estimated
    })
    expect(repriced.length).toBeGreaterThan(0)
    // Exactly what a fresh full sync of the same CRM stores, prices and rate sets included.
    fresh = await createTestDatabase()
    const ctx2 = syncContext(fresh, h.config)
    const { orgId } = await bootstrapConnection(ctx2, h.sb.issueRefreshToken())
    const again = await runOrgSync(ctx2, orgId, { trigger: 'manual', historyBudget: 0 })
    expect(again.status).toBe('succeeded')
    expect(after).toEqual(await derived(fresh.db, orgId))

    // And the figures users see agree with it: the run rebuilt the rollups they read from.
    const [rollup] = await query<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from analytics_rollup_state where org_id = ${h.orgId}`,
    )
    expect(rollup!.n).toBe(1)
    const admin = h.sb.users.admin.id
    expect(await summary(database.db, h.orgId, admin)).toEqual(await summary(fresh.db, orgId, admin))
  })
})
