import { Hono } from 'hono'
import { and, eq } from 'drizzle-orm'
import { users } from '../db/schema'
import { unauthorized } from '../http/errors'
import type { AppEnv } from '../http/types'
import { audit } from '../auth/audit'
import { clientIp } from '../auth/security'
import { WIDGET_TOKEN_PURPOSE } from '../auth/middleware'
import { appRoleFor } from '../auth/scope'
import { signToken } from '../auth/token'
import { AssertionError, verifyWidgetAssertion } from '../auth/widget-assertion'
import { widgetAssertionSchema, type WidgetTokenResponse } from '#shared/contracts/auth'

/** Widget bearer tokens live this long; the widget re-runs the Deluge function to get another. */
export const WIDGET_TOKEN_TTL_SECONDS = 15 * 60

/**
 * POST /api/v1/auth/widget: the Deluge-signed assertion → a short-lived bearer token, kept in the
 * widget's memory (third-party cookies do not work in the CRM iframe). Every refusal is the same
 * 401 to the caller; the reason goes to the log.
 */
export const widgetAuth = new Hono<AppEnv>().post('/auth/widget', async (c) => {
  const deps = c.var.deps
  const body = widgetAssertionSchema.parse(await c.req.json().catch(() => ({})))
  const now = deps.now()
  let verified: Awaited<ReturnType<typeof verifyWidgetAssertion>>
  try {
    verified = await verifyWidgetAssertion(c.var.db, deps.config.secretKey, body, now)
  } catch (err) {
    if (err instanceof AssertionError) {
      deps.logger.warn('widget assertion refused', { reason: err.reason, requestId: c.var.requestId })
      throw unauthorized('The widget sign-in could not be verified', 'INVALID_ASSERTION')
    }
    throw err
  }
  const [user] = await c.var.db
    .select({ id: users.id, name: users.fullName })
    .from(users)
    .where(and(eq(users.orgId, verified.orgId), eq(users.zuid, verified.zuid)))
    .limit(1)
  const role = user ? await appRoleFor(c.var.db, verified.orgId, user.id) : null
  if (!user || !role)
    throw unauthorized(
      'Your Zoho user is not known to Pipeline Pulse yet; ask an admin to sync',
      'UNKNOWN_USER',
    )
  await audit(c.var.db, {
    orgId: verified.orgId,
    actorUserId: user.id,
    action: 'auth.sign_in',
    details: { via: 'widget' },
    ip: clientIp(c),
  })
  const exp = Math.floor(now.getTime() / 1000) + WIDGET_TOKEN_TTL_SECONDS
  const token = await signToken(deps.config.secretKey, WIDGET_TOKEN_PURPOSE, {
    orgId: verified.orgId,
    userId: user.id,
    name: user.name,
    exp,
  })
  const res: WidgetTokenResponse = {
    token,
    tokenType: 'Bearer',
    expiresAt: new Date(exp * 1000).toISOString(),
    expiresIn: WIDGET_TOKEN_TTL_SECONDS,
    user: { userId: user.id, orgId: verified.orgId, name: user.name, role },
  }
  return c.json(res)
})
