import { sql } from 'drizzle-orm'
import { query, type Db } from '../db/client'

/**
 * One sync per org at a time: sync_state.lease_owner/lease_expires_at, renewed with every page
 * (inside the page's transaction). A holder that dies stops renewing and its lease expires, so the
 * next invocation can take over the run from its checkpoint. Times are the database's clock.
 */

export class LeaseLostError extends Error {
  override name = 'LeaseLostError'
  constructor(orgId: string) {
    super(`The sync lease of org ${orgId} was taken over by another holder`)
  }
}

export async function acquireLease(db: Db, orgId: string, holder: string, seconds: number): Promise<boolean> {
  const rows = await query(
    db,
    sql`insert into sync_state (org_id, lease_owner, lease_expires_at)
        values (${orgId}, ${holder}, now() + make_interval(secs => ${seconds}))
        on conflict (org_id) do update set lease_owner = excluded.lease_owner, lease_expires_at = excluded.lease_expires_at
        where sync_state.lease_owner is null or sync_state.lease_expires_at is null
           or sync_state.lease_expires_at < now() or sync_state.lease_owner = excluded.lease_owner
        returning org_id`,
  )
  return rows.length === 1
}

/** The renewal statement: returns a row only while `holder` has the lease. */
export const renewLeaseSql = (orgId: string, holder: string, seconds: number) =>
  sql`update sync_state set lease_expires_at = now() + make_interval(secs => ${seconds})
      where org_id = ${orgId} and lease_owner = ${holder} returning org_id`

/** Extends the lease; throws LeaseLostError when another holder has it (call inside the page transaction). */
export async function renewLease(db: Db, orgId: string, holder: string, seconds: number): Promise<void> {
  const rows = await query(db, renewLeaseSql(orgId, holder, seconds))
  if (rows.length !== 1) throw new LeaseLostError(orgId)
}

export async function releaseLease(db: Db, orgId: string, holder: string): Promise<void> {
  await db.execute(
    sql`update sync_state set lease_owner = null, lease_expires_at = null
        where org_id = ${orgId} and lease_owner = ${holder}`,
  )
}

/** True while a live holder has the org's lease. */
export async function leaseHeld(db: Db, orgId: string): Promise<boolean> {
  const rows = await query(
    db,
    sql`select 1 from sync_state where org_id = ${orgId} and lease_owner is not null and lease_expires_at > now()`,
  )
  return rows.length > 0
}
