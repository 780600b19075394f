import type { Context } from 'hono'
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
 * The viewer behind a request, or null: a Bearer token (widget) wins over the session cookie (web
 * view). The role is re-derived from the synced users and roles on every request, so a changed role
 * applies at once. Throws 401 when the token is valid but the user is not (or no longer) synced.
 */
export async function readViewer(c: Context<AppEnv>): Promise<Viewer | null> {
  const secret = c.var.deps.config.secretKey
  const header = c.req.header('authorization')
  let claims: SessionClaims | null = null
  let via: Viewer['via'] = 'session'
  const now = c.var.deps.now().getTime()
  if (header?.startsWith('Bearer ')) {
    claims = await verifyToken(secret, WIDGET_TOKEN_PURPOSE, header.slice(7).trim(), now)
    via = 'widget'
  } else {
    const cookie = getCookie(c, SESSION_COOKIE)
    if (cookie) claims = await verifyToken(secret, SESSION_PURPOSE, cookie, now)
  }
  if (!claims || typeof claims.orgId !== 'string' || typeof claims.userId !== 'string') return null
  const role = await appRoleFor(c.var.db, claims.orgId, claims.userId)
  if (!role) throw unauthorized('Your Zoho user is not known to Pipeline Pulse yet; ask an admin to sync')
  return { orgId: claims.orgId, userId: claims.userId, role, name: claims.name, via }
}

/** Establishes c.var.viewer from the session cookie (web view) or a Bearer token (widget); 401 without. */
export const requireViewer = createMiddleware<AppEnv>(async (c, next) => {
  const viewer = await readViewer(c)
  if (!viewer) throw unauthorized()
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
