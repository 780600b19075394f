import { Hono } from 'hono'
import { and, asc, eq } from 'drizzle-orm'
import { z } from 'zod'
import { orgs, users, zohoConnections } from '../db/schema'
import { badRequest, notFound } from '../http/errors'
import type { AppEnv } from '../http/types'
import { audit } from '../auth/audit'
import { requireRole, requireViewer } from '../auth/middleware'
import { appRoleFor } from '../auth/scope'
import { clientIp } from '../auth/security'
import { rotateWidgetSecret } from '../auth/widget-assertion'
import { revokeConnection } from '../zoho/connection'
import { roleOverrideRequestSchema } from '#shared/contracts/auth'

/** Admin settings of the viewer's org: users and role overrides, widget secret, Zoho connection. */
export const admin = new Hono<AppEnv>()

admin.use('/admin/*', requireViewer, requireRole('admin'))

const userIdParam = z.object({ id: z.string().regex(/^\d{1,30}$/, 'must be a Zoho user id') })

admin.get('/admin/users', async (c) => {
  const v = c.var.viewer
  const rows = await c.var.db
    .select()
    .from(users)
    .where(eq(users.orgId, v.orgId))
    .orderBy(asc(users.fullName))
  const out = []
  for (const u of rows) {
    out.push({
      userId: u.id,
      name: u.fullName,
      email: u.email,
      status: u.status,
      profileName: u.profileName,
      roleId: u.roleId,
      override: u.appRoleOverride,
      role: await appRoleFor(c.var.db, v.orgId, u.id),
    })
  }
  return c.json({ users: out })
})

admin.put('/admin/users/:id/role', async (c) => {
  const v = c.var.viewer
  const { id } = userIdParam.parse(c.req.param())
  const { role } = roleOverrideRequestSchema.parse(await c.req.json().catch(() => null))
  if (id === v.userId && role !== null && role !== 'admin')
    throw badRequest('You cannot take away your own admin role; ask another admin', 'SELF_DEMOTION')
  const [before] = await c.var.db
    .select({ override: users.appRoleOverride })
    .from(users)
    .where(and(eq(users.orgId, v.orgId), eq(users.id, id)))
  if (!before) throw notFound('No such user in this org')
  await c.var.db
    .update(users)
    .set({ appRoleOverride: role })
    .where(and(eq(users.orgId, v.orgId), eq(users.id, id)))
  await audit(c.var.db, {
    orgId: v.orgId,
    actorUserId: v.userId,
    action: 'settings.role_override',
    target: id,
    details: { from: before.override, to: role },
    ip: clientIp(c),
  })
  return c.json({ userId: id, override: role, role: (await appRoleFor(c.var.db, v.orgId, id)) ?? 'rep' })
})

admin.get('/admin/widget-secret', async (c) => {
  const [o] = await c.var.db
    .select({ enc: orgs.widgetSecretEnc, at: orgs.widgetSecretRotatedAt })
    .from(orgs)
    .where(eq(orgs.id, c.var.viewer.orgId))
  return c.json({ configured: Boolean(o?.enc), rotatedAt: o?.at?.toISOString() ?? null })
})

/** Generates or rotates the org's widget secret. The plaintext is in this response only. */
admin.post('/admin/widget-secret', async (c) => {
  const v = c.var.viewer
  const now = c.var.deps.now()
  const res = await rotateWidgetSecret(c.var.db, c.var.deps.config.secretKey, v.orgId, now)
  if (!res) throw notFound('This org has no settings row yet; connect Zoho first', 'ORG_NOT_CONNECTED')
  await audit(c.var.db, {
    orgId: v.orgId,
    actorUserId: v.userId,
    action: 'settings.widget_secret_rotated',
    ip: clientIp(c),
  })
  c.header('cache-control', 'no-store')
  return c.json({ secret: res.secret, rotatedAt: res.rotatedAt.toISOString(), orgId: v.orgId })
})

admin.get('/admin/connection', async (c) => {
  const [conn] = await c.var.db
    .select({
      status: zohoConnections.status,
      accountsServer: zohoConnections.accountsServer,
      apiDomain: zohoConnections.apiDomain,
      scopes: zohoConnections.scopes,
      lastError: zohoConnections.lastError,
      connectedByUserId: zohoConnections.connectedByUserId,
      updatedAt: zohoConnections.updatedAt,
    })
    .from(zohoConnections)
    .where(eq(zohoConnections.orgId, c.var.viewer.orgId))
  if (!conn) return c.json({ connected: false, status: null })
  return c.json({ connected: conn.status === 'active', ...conn, updatedAt: conn.updatedAt.toISOString() })
})

/** Revokes the refresh token at Zoho and marks the connection revoked (sync stops). */
admin.post('/admin/disconnect', async (c) => {
  const v = c.var.viewer
  const [conn] = await c.var.db
    .select({ status: zohoConnections.status })
    .from(zohoConnections)
    .where(eq(zohoConnections.orgId, v.orgId))
  if (!conn || conn.status === 'revoked') throw notFound('Zoho is not connected', 'NOT_CONNECTED')
  const { revokedAtZoho } = await revokeConnection(c.var.db, c.var.deps.config.secretKey, v.orgId, {
    fetch: c.var.deps.fetch,
    logger: c.var.deps.logger,
  })
  await audit(c.var.db, {
    orgId: v.orgId,
    actorUserId: v.userId,
    action: 'zoho.disconnected',
    target: v.orgId,
    details: { revokedAtZoho },
    ip: clientIp(c),
  })
  return c.json({ disconnected: true, revokedAtZoho })
})
