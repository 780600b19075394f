import { sql } from 'drizzle-orm'
import type { Database } from '../../api/src/db/client'
import { rotateWidgetSecret } from '../../api/src/auth/widget-assertion'

/** A small synced org for the auth and security suites: admin, a manager over two reps, a deleted user. */
export const ORG = '5725767000000411001'
export const OTHER_ORG = '5725767000000999001'
export const U = {
  admin: { id: '5725767000000100001', zuid: '70000001', email: 'ada@pulse.test' },
  manager: { id: '5725767000000100002', zuid: '70000002', email: 'max@pulse.test' },
  rep1: { id: '5725767000000100003', zuid: '70000003', email: 'rae@pulse.test' },
  rep2: { id: '5725767000000100004', zuid: '70000004', email: 'rob@pulse.test' },
  gone: { id: '5725767000000100005', zuid: '70000005', email: 'gus@pulse.test' },
  outsider: { id: '5725767000000900001', zuid: '70000009', email: 'otto@other.test' },
} as const
export const DEAL = { rep1: '5725767000000500001', rep2: '5725767000000500002' }

export async function seedOrg(database: Database) {
  const db = database.db
  await db.execute(
    sql`insert into orgs (id, name, home_currency) values (${ORG}, 'Pulse Test', 'USD'), (${OTHER_ORG}, 'Other', 'USD')`,
  )
  await db.execute(sql`insert into roles (org_id, id, name, reports_to_id) values
    (${ORG}, 'r-ceo', 'CEO', null), (${ORG}, 'r-mgr', 'Manager', 'r-ceo'), (${ORG}, 'r-rep', 'Rep', 'r-mgr'),
    (${OTHER_ORG}, 'o-rep', 'Rep', null)`)
  await db.execute(sql`insert into users (org_id, id, zuid, full_name, email, status, role_id, profile_name) values
    (${ORG}, ${U.admin.id}, ${U.admin.zuid}, 'Ada Admin', ${U.admin.email}, 'active', 'r-ceo', 'Administrator'),
    (${ORG}, ${U.manager.id}, ${U.manager.zuid}, 'Max Manager', ${U.manager.email}, 'active', 'r-mgr', 'Standard'),
    (${ORG}, ${U.rep1.id}, ${U.rep1.zuid}, 'Rae Rep', ${U.rep1.email}, 'active', 'r-rep', 'Standard'),
    (${ORG}, ${U.rep2.id}, ${U.rep2.zuid}, 'Rob Rep', ${U.rep2.email}, 'active', 'r-rep', 'Standard'),
    (${ORG}, ${U.gone.id}, ${U.gone.zuid}, 'Gus Gone', ${U.gone.email}, 'deleted', 'r-rep', 'Standard'),
    (${OTHER_ORG}, ${U.outsider.id}, ${U.outsider.zuid}, 'Otto Outsider', ${U.outsider.email}, 'active', 'o-rep', 'Standard')`)
  await db.execute(sql`insert into stages (org_id, display_value, actual_value, sequence, probability, state) values
    (${ORG}, 'Qualification', 'Qualification', 1, 10, 'open'), (${ORG}, 'Closed Won', 'Closed Won', 2, 100, 'won')`)
  await db.execute(sql`insert into deals (org_id, id, name, stage, state, amount, currency, owner_id, owner_name,
      amount_sgd, weighted_sgd, fx_rate, fx_date, fx_source, closing_date, created_time, modified_time, effective_probability)
    values
    (${ORG}, ${DEAL.rep1}, 'Rae deal', 'Qualification', 'open', '1000.00', 'SGD', ${U.rep1.id}, 'Rae Rep', '1000.00', '100.00', '1', '2026-11-23', 'identity', '2026-12-31', now(), now(), 10),
    (${ORG}, ${DEAL.rep2}, 'Rob deal', 'Qualification', 'open', '2000.00', 'SGD', ${U.rep2.id}, 'Rob Rep', '2000.00', '200.00', '1', '2026-11-23', 'identity', '2026-12-31', now(), now(), 10)`)
}

export async function seedWidgetSecret(database: Database, secretKey: string, orgId = ORG): Promise<string> {
  const r = await rotateWidgetSecret(database.db, secretKey, orgId, new Date())
  return r!.secret
}

export const nonce = () =>
  Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')
