import { and, eq, inArray, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client'
import { query } from '../db/client'
import { roles, users } from '../db/schema'

export type AppRole = 'admin' | 'manager' | 'rep'

/** Who is asking: established by a session cookie or a widget bearer token. */
export interface Viewer {
  orgId: string
  userId: string
  role: AppRole
  name?: string
  /** How the request was authenticated: web view session cookie or widget bearer token. */
  via?: 'session' | 'widget'
}

/** The deals a viewer may see: the whole org (ownerIds null) or deals owned by these users. */
export interface Scope {
  orgId: string
  ownerIds: string[] | null
}

/**
 * App role from Zoho: profile "Administrator" → admin; a role with subordinate roles → manager;
 * everyone else → rep. An admin override in settings wins. null: unknown or not an active user.
 */
export async function appRoleFor(db: Db, orgId: string, userId: string): Promise<AppRole | null> {
  const [u] = await db
    .select()
    .from(users)
    .where(and(eq(users.orgId, orgId), eq(users.id, userId)))
  // Deactivated or deleted Zoho users keep their rows (they own deals) but may not sign in.
  if (!u || u.status.toLowerCase() !== 'active') return null
  if (u.appRoleOverride) return u.appRoleOverride
  if (u.profileName === 'Administrator') return 'admin'
  if (!u.roleId) return 'rep'
  const [child] = await db
    .select({ id: roles.id })
    .from(roles)
    .where(and(eq(roles.orgId, orgId), eq(roles.reportsToId, u.roleId)))
    .limit(1)
  return child ? 'manager' : 'rep'
}

/**
 * The one visibility function (DESIGN.md): admin → whole org; a user whose role has subordinate
 * roles → own deals plus deals of users in every role below theirs; everyone else → own deals.
 */
export async function resolveScope(db: Db, viewer: Viewer): Promise<Scope> {
  if (viewer.role === 'admin') return { orgId: viewer.orgId, ownerIds: null }
  const [me] = await db
    .select({ roleId: users.roleId })
    .from(users)
    .where(and(eq(users.orgId, viewer.orgId), eq(users.id, viewer.userId)))
  if (!me?.roleId || viewer.role === 'rep') return { orgId: viewer.orgId, ownerIds: [viewer.userId] }
  const below = await query<{ id: string }>(
    db,
    sql`with recursive sub(id) as (
          select id from roles where org_id = ${viewer.orgId} and reports_to_id = ${me.roleId}
          union
          select r.id from roles r join sub on r.reports_to_id = sub.id where r.org_id = ${viewer.orgId}
        )
        select u.id from users u where u.org_id = ${viewer.orgId} and u.role_id in (select id from sub)`,
  )
  return { orgId: viewer.orgId, ownerIds: [viewer.userId, ...below.map((r) => r.id)] }
}

/** SQL condition restricting an owner column to the scope (always also filter by org). */
export function ownerCondition(
  scope: Scope,
  ownerColumn: SQL | Parameters<typeof inArray>[0],
): SQL | undefined {
  if (scope.ownerIds === null) return undefined
  return inArray(ownerColumn as Parameters<typeof inArray>[0], scope.ownerIds)
}
