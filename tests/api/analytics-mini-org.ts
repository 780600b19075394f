import { sql } from 'drizzle-orm'
import type { Db } from '../../api/src/db/client'
import { insertJson } from '../helpers/seed'

/*
 * Hand-built orgs for the analytics suites: a copy of the seeded org's roles, users and stages
 * (copySeededOrg), then a few deals and their stage history written straight into the tables.
 */

export interface MiniDeal {
  id: string
  stage: string
  amount?: string
  close?: string
  created?: string
  /** stage_entered_at; null for none. Defaults to the created time. */
  entered?: string | null
  /** last_activity_time; defaults to yesterday (2026-11-25). */
  lastActivity?: string
}

const STATE: Record<string, [string, string, number]> = {
  Qualification: ['open', 'Pipeline', 10],
  'Needs Analysis': ['open', 'Pipeline', 20],
  'Value Proposition': ['open', 'Best Case', 40],
  'Negotiation/Review': ['open', 'Commit', 90],
  'Closed Won': ['won', 'Closed', 100],
  'Closed Lost': ['lost', 'Omitted', 0],
}

/** Replace the org's deals (SGD, owned by the seeded rep, active yesterday). */
export async function setDeals(db: Db, org: string, deals: MiniDeal[]) {
  await db.execute(sql`delete from deals where org_id = ${org}`)
  const rows = deals.map((d) => {
    const [state, category, p] = STATE[d.stage]!
    const amount = d.amount ?? '100.00'
    const created = d.created ?? '2026-01-01T00:00:00Z'
    return {
      org_id: org,
      id: d.id,
      name: `Deal ${d.id}`,
      stage: d.stage,
      state,
      forecast_category: category,
      pipeline: 'Standard',
      owner_id: '5725767000000100004',
      owner_name: 'Rep',
      currency: 'SGD',
      amount,
      probability: p,
      effective_probability: p,
      amount_sgd: amount,
      weighted_sgd: String((Number(amount) * p) / 100),
      fx_rate: '1',
      fx_source: 'base',
      fx_estimated: false,
      closing_date: d.close ?? '2026-12-15',
      created_time: created,
      modified_time: '2026-11-01T00:00:00Z',
      last_activity_time: d.lastActivity ?? '2026-11-25T00:00:00Z',
      stage_entered_at: d.entered === undefined ? created : d.entered,
      closing_push_count: 0,
      synced_at: '2026-11-01T00:00:00Z',
    }
  })
  await insertJson(db, 'deals', rows)
}

/** Zoho Stage_History rows: [deal, stage (display or actual value), entered at]. */
export async function addHistory(db: Db, org: string, rows: string[][]) {
  for (const [deal, stage, at] of rows)
    await db.execute(sql`insert into stage_history (org_id, deal_id, stage, entered_at, source)
      values (${org}, ${deal}, ${stage}, ${at}, 'zoho')`)
}
