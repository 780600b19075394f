import { z } from 'zod'
import { isoDate, periodOut } from './common'

/** Auth contracts shared by the API and the widget/web view. */

export const appRoleSchema = z.enum(['admin', 'manager', 'rep'])
export type AppRoleName = z.infer<typeof appRoleSchema>

/** GET /api/v1/me */
export const meResponseSchema = z.object({
  userId: z.string(),
  name: z.string(),
  email: z.string().nullable(),
  role: appRoleSchema,
  /** How this request was authenticated. */
  via: z.enum(['session', 'widget']),
  org: z.object({
    id: z.string(),
    name: z.string().nullable(),
    baseCurrency: z.string().nullable(),
    /** A Zoho connection exists and is usable for sync. */
    connected: z.boolean(),
    /** Today in the org's time zone (not the browser's, nor UTC). */
    today: isoDate,
    /** The period presets, from the org's today and fiscal year start month. */
    periods: z.object({ thisQuarter: periodOut, lastQuarter: periodOut, thisYear: periodOut }),
  }),
})
export type MeResponse = z.infer<typeof meResponseSchema>

/**
 * The Deluge function's output: `payload` is the exact JSON text that was signed
 * (`{"zuid","orgId","iat","nonce"}`), `sig` its HMAC-SHA256 under the org's widget secret (hex or
 * base64). The widget posts it unchanged to POST /api/v1/auth/widget.
 */
export const widgetAssertionSchema = z.object({
  payload: z.string().min(2).max(2048),
  sig: z.string().min(16).max(256),
})
export type WidgetAssertion = z.infer<typeof widgetAssertionSchema>

/** The signed claims inside `payload`. Ids are strings (19 digits exceed a JS number). */
export const widgetClaimsSchema = z.object({
  zuid: z.union([
    z.string().regex(/^\d{1,30}$/),
    z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  ]),
  orgId: z.union([
    z.string().regex(/^\d{1,30}$/),
    z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  ]),
  /** Seconds since the epoch when the function signed it. */
  iat: z.number().int().positive(),
  nonce: z.string().min(16).max(128),
})
export type WidgetClaims = z.infer<typeof widgetClaimsSchema>

export const widgetTokenResponseSchema = z.object({
  token: z.string(),
  tokenType: z.literal('Bearer'),
  /** ISO time; re-run the assertion exchange before this. */
  expiresAt: z.string(),
  expiresIn: z.number().int(),
  user: z.object({ userId: z.string(), orgId: z.string(), name: z.string(), role: appRoleSchema }),
})
export type WidgetTokenResponse = z.infer<typeof widgetTokenResponseSchema>

/** POST /api/v1/admin/widget-secret: the secret is shown once and never again. */
export const widgetSecretResponseSchema = z.object({
  secret: z.string(),
  rotatedAt: z.string(),
  orgId: z.string(),
})

/** PUT /api/v1/admin/users/:id/role. null clears the override (role derived from Zoho again). */
export const roleOverrideRequestSchema = z.object({ role: appRoleSchema.nullable() })
export const roleOverrideResponseSchema = z.object({
  userId: z.string(),
  override: appRoleSchema.nullable(),
  role: appRoleSchema,
})

export const demoUserSchema = z.object({
  orgId: z.string(),
  userId: z.string(),
  name: z.string(),
  email: z.string().nullable(),
  role: appRoleSchema,
  loginUrl: z.string(),
})
export const demoUsersResponseSchema = z.object({ users: z.array(demoUserSchema) })

/** GET /api/v1/audit */
export const auditQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  /** Id cursor: entries older than this one. */
  before: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  action: z.string().min(1).max(64).optional(),
})
export const auditEntrySchema = z.object({
  id: z.number(),
  at: z.string(),
  actorUserId: z.string().nullable(),
  actorName: z.string().nullable(),
  action: z.string(),
  target: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  ip: z.string().nullable(),
})
export const auditPageSchema = z.object({
  items: z.array(auditEntrySchema),
  nextCursor: z.number().nullable(),
})
