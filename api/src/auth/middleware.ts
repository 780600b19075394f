import { createMiddleware } from 'hono/factory'
import { getCookie } from 'hono/cookie'
import type { AppEnv } from '../http/types'
import { forbidden, unauthorized } from '../http/errors'
import { appRoleFor, type AppRole, type Viewer } from './scope'
import { verifyToken, type TokenClaims } from './token'

export const SESSION_COOKIE = 'pp_session'
/** Token purposes: a token signed for one can never be used as another. */
export const SESSION_PURPOSE = 'session'
export const WIDGET_TOKEN_PURPOSE = 'widget-token'

export interface SessionClaims extends TokenClaims {
  orgId: string
  userId: string
  name?: string
}

/**
 * Establishes c.var.viewer from the session cookie (web view) or a Bearer token (widget). The role is
 * re-derived from the synced users and roles on every request, so a changed role applies at once.
 */
export const requireViewer = createMiddleware<AppEnv>(async (c, next) => {
  const secret = c.var.deps.config.secretKey
  const header = c.req.header('authorization')
  let claims: SessionClaims | null = null
  if (header?.startsWith('Bearer ')) claims = await verifyToken(secret, WIDGET_TOKEN_PURPOSE, header.slice(7))
  else {
    const cookie = getCookie(c, SESSION_COOKIE)
    if (cookie) claims = await verifyToken(secret, SESSION_PURPOSE, cookie)
  }
  if (!claims) throw unauthorized()
  const role = await appRoleFor(c.var.db, claims.orgId, claims.userId)
  if (!role) throw unauthorized('Your Zoho user is not known to Pipeline Pulse yet; ask an admin to sync')
  const viewer: Viewer = { orgId: claims.orgId, userId: claims.userId, role, name: claims.name }
  c.set('viewer', viewer)
  await next()
})

export function requireRole(...allowed: AppRole[]) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const viewer = c.get('viewer')
    if (!viewer) throw unauthorized()
    if (!allowed.includes(viewer.role)) throw forbidden(`Needs the ${allowed.join(' or ')} role`)
    await next()
  })
}
