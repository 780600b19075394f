import { sql } from 'drizzle-orm'
import { loadConfig, type Config } from '../../api/src/config'
import { query, type Db } from '../../api/src/db/client'
import { createLogger } from '../../api/src/observability/logger'

export interface TestDeal {
  id: string
  amount: string | null
  currency: string
  zohoExchangeRate?: string | null
  state: 'open' | 'won' | 'lost' | 'unknown'
  closingDate: string | null
  probability?: number | null
}

export interface DealRow {
  id: string
  state: string
  amountSgd: string | null
  weightedSgd: string | null
  fxRate: string | null
  fxDate: string | null
  fxSource: string | null
  fxEstimated: boolean
}

export async function insertOrg(db: Db, orgId: string, homeCurrency: string): Promise<void> {
  await db.execute(
    sql`insert into orgs (id, name, home_currency) values (${orgId}, ${'Org ' + orgId}, ${homeCurrency})`,
  )
}

/** Users the auth middleware knows: profile Administrator → admin; others → rep. */
export async function insertUser(db: Db, orgId: string, id: string, admin: boolean): Promise<void> {
  await db.execute(
    sql`insert into users (org_id, id, full_name, status, profile_name)
        values (${orgId}, ${id}, ${'User ' + id}, 'active', ${admin ? 'Administrator' : 'Standard'})`,
  )
}

/** Deals as the sync would leave them before pricing (amount_sgd null), one statement. */
export async function insertDeals(db: Db, orgId: string, deals: TestDeal[]): Promise<void> {
  const rows = deals.map((d) => ({
    org_id: orgId,
    id: d.id,
    name: `Deal ${d.id}`,
    stage: d.state,
    state: d.state,
    amount: d.amount,
    currency: d.currency,
    zoho_exchange_rate: d.zohoExchangeRate ?? null,
    effective_probability: d.probability === undefined ? 50 : d.probability,
    closing_date: d.closingDate,
  }))
  await db.execute(
    sql`insert into deals (org_id, id, name, stage, state, amount, currency, zoho_exchange_rate,
          effective_probability, closing_date, created_time, modified_time)
        select x.org_id, x.id, x.name, x.stage, x.state, x.amount, x.currency, x.zoho_exchange_rate,
               x.effective_probability, x.closing_date, now(), now()
        from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(org_id text, id text, name text,
          stage text, state text, amount numeric, currency text, zoho_exchange_rate numeric,
          effective_probability smallint, closing_date date)`,
  )
}

export async function readDeals(db: Db, orgId: string): Promise<Map<string, DealRow>> {
  const rows = await query<DealRow>(
    db,
    sql`select id, state, amount_sgd::text as "amountSgd", weighted_sgd::text as "weightedSgd",
          fx_rate::text as "fxRate", fx_date::text as "fxDate", fx_source as "fxSource",
          fx_estimated as "fxEstimated"
        from deals where org_id = ${orgId} order by id`,
  )
  return new Map(rows.map((r) => [r.id, r]))
}

export function testConfig(env: Record<string, string | undefined> = {}): Config {
  return loadConfig({ APP_ENV: 'test', LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent', ...env })
}

export const silentLogger = createLogger((process.env.LOG_LEVEL as 'silent') ?? 'silent')

/** Deterministic pseudo-random numbers (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
