import { and, desc, eq, lt } from 'drizzle-orm'
import type { Db } from '../db/client'
import { auditLog, users } from '../db/schema'

/**
 * The audit trail: sign-ins, connects/disconnects, manual syncs, exports, settings changes.
 * Details are plain facts (ids, counts, names): never a token, secret or cookie.
 */
export interface AuditEntry {
  orgId: string
  actorUserId?: string | null
  /** Dotted verb, e.g. auth.sign_in, zoho.connected, sync.started, export.deals_csv, settings.changed. */
  action: string
  target?: string | null
  details?: Record<string, unknown>
  ip?: string | null
}

export async function audit(db: Db, e: AuditEntry): Promise<void> {
  await db.insert(auditLog).values({
    orgId: e.orgId,
    actorUserId: e.actorUserId ?? null,
    action: e.action,
    target: e.target ?? null,
    details: e.details ?? {},
    ip: e.ip ?? null,
  })
}

export interface AuditRow {
  id: number
  at: string
  actorUserId: string | null
  actorName: string | null
  action: string
  target: string | null
  details: Record<string, unknown>
  ip: string | null
}

/** Newest first; `before` is the id cursor from the previous page. */
export async function listAudit(
  db: Db,
  orgId: string,
  opts: { limit: number; before?: number; action?: string },
): Promise<{ items: AuditRow[]; nextCursor: number | null }> {
  const conds = [eq(auditLog.orgId, orgId)]
  if (opts.before !== undefined) conds.push(lt(auditLog.id, opts.before))
  if (opts.action) conds.push(eq(auditLog.action, opts.action))
  const rows = await db
    .select({ a: auditLog, actorName: users.fullName })
    .from(auditLog)
    .leftJoin(users, and(eq(users.orgId, auditLog.orgId), eq(users.id, auditLog.actorUserId)))
    .where(and(...conds))
    .orderBy(desc(auditLog.id))
    .limit(opts.limit + 1)
  const page = rows.slice(0, opts.limit)
  return {
    items: page.map(({ a, actorName }) => ({
      id: a.id,
      at: a.at.toISOString(),
      actorUserId: a.actorUserId,
      actorName,
      action: a.action,
      target: a.target,
      details: a.details,
      ip: a.ip,
    })),
    nextCursor: rows.length > opts.limit ? (page[page.length - 1]?.a.id ?? null) : null,
  }
}
