import { sql } from 'drizzle-orm'
import { query, type Db } from '../db/client'

export const HOUR_MS = 3_600_000

/**
 * The org's Zoho calls of the last hour as recorded per minute (zoho_call_minutes, by any process or
 * Worker isolate), each dated at the end of its minute, oldest first: what a new client's hourly
 * budget starts from.
 */
export async function recentZohoCalls(db: Db, orgId: string): Promise<{ at: number; calls: number }[]> {
  const rows = await query<{ at: number; calls: number }>(
    db,
    sql`select extract(epoch from minute)::float8 * 1000 + 59999 as at, calls
        from zoho_call_minutes where org_id = ${orgId} and minute > now() - interval '61 minutes'
        order by minute`,
  )
  return rows.map((r) => ({ at: Number(r.at), calls: Number(r.calls) }))
}

/**
 * Zoho calls made outside a sync run (sign-in, connecting, Watch renewals) added to the org's minute.
 * A run's calls are added by the sync_runs trigger at each commit, with the same function.
 */
export async function recordZohoCalls(db: Db, orgId: string, calls: number): Promise<void> {
  if (calls > 0) await query(db, sql`select add_zoho_calls(${orgId}, ${calls}::int)`)
}

/** How many of those calls the hour before `now` (ms) holds, as the client's budget counts them. */
export const callsInLastHour = (recent: { at: number; calls: number }[], now: number): number =>
  recent.reduce((n, m) => (m.at > now - HOUR_MS ? n + m.calls : n), 0)
