import { Cron } from 'croner'
import { z } from 'zod'
import { isLoopbackHost } from '../http/loopback'

/**
 * Every environment variable the product reads, validated once at start-up.
 * Names follow the original .env. A bad value stops start-up with one line naming the variable.
 */

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max)
const httpUrl = z.url({ protocol: /^https?$/ })

/** A 5-field cron pattern as the Node scheduler (croner, Cloudflare's dialect) reads it. */
const cronPattern = z
  .string()
  .regex(/^\S+( \S+){4}$/, 'must be a 5-field cron pattern')
  .superRefine((pattern, ctx) => {
    try {
      new Cron(pattern, { paused: true, mode: '5-part', alternativeWeekdays: true, timezone: 'UTC' }).stop()
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `not a valid cron pattern (${(e as Error).message})` })
    }
  })

/** The sync interval becomes a cron: minutes dividing an hour, or whole hours dividing a day. */
const SYNC_INTERVALS = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440]

/** CORS origins, comma-separated, each as a browser sends it: scheme://host[:port]. */
const originList = z.string().refine(
  (v) =>
    v
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean)
      .every((o) => /^https?:\/\/[^/\s,*]+$/.test(o)),
  'must be comma-separated origins such as https://crm.example.com (no paths, no *)',
)

export const ZOHO_REGIONS = ['us', 'eu', 'in', 'au', 'jp', 'cn', 'ca', 'sa'] as const

export const configSchema = z.object({
  PORT: int(1, 65535).default(8000),
  /** Node: the address to listen on; unset: 127.0.0.1 in demo mode (its sign-in page lets anyone in), else 0.0.0.0. */
  HOST: z.string().min(1).optional(),
  APP_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** Unset: embedded PGlite in DATA_DIR. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  /** Unset: the built-in sandbox Zoho org (demo mode). */
  ZOHO_CLIENT_ID: z.string().min(1).optional(),
  ZOHO_CLIENT_SECRET: z.string().min(1).optional(),
  ZOHO_REDIRECT_URI: httpUrl.optional(),
  ZOHO_ACCOUNTS_URL: httpUrl.default('https://accounts.zoho.com'),
  ZOHO_API_DOMAIN: httpUrl.default('https://www.zohoapis.com'),
  ZOHO_REGION: z.enum(ZOHO_REGIONS).default('us'),
  ZOHO_REFRESH_TOKEN: z.string().min(1).optional(),
  BASE_CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be a 3-letter ISO code')
    .default('SGD'),
  CURRENCY_API_KEY: z.string().min(1).optional(),
  CURRENCY_API_URL: httpUrl.default('https://api.currencyfreaks.com/v2.0'),
  CURRENCY_CACHE_DAYS: int(1, 365).default(7),
  CURRENCY_UPDATE_SCHEDULE: cronPattern.default('0 0 * * MON'),
  SECRET_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  ACCESS_TOKEN_EXPIRE_MINUTES: int(1, 60 * 24 * 30).default(480),
  SYNC_INTERVAL_MINUTES: int(1, 1440)
    .refine((n) => SYNC_INTERVALS.includes(n), `must be one of ${SYNC_INTERVALS.join(', ')}`)
    .default(15),
  SYNC_BATCH_SIZE: int(1, 200).default(200),
  SYNC_MAX_RETRIES: int(0, 20).default(3),
  API_RATE_LIMIT_PER_HOUR: int(1, 10_000_000).default(1000),
  SENTRY_DSN: httpUrl.optional(),
  /** Externally reachable base URL of this deployment, for Zoho Watch callbacks; unset: polling only. */
  PUBLIC_URL: httpUrl.optional(),
  /** Extra origins allowed by CORS besides Zoho's widget hosts (comma-separated). */
  CORS_ORIGINS: originList.default(''),
  /** Node: GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`; unset: loopback clients only. */
  METRICS_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters')
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .optional(),
  /**
   * Node: reverse proxies in front of the server whose X-Forwarded-For is trusted for the client IP
   * (sign-in rate limits, audit). 0: the socket's peer; the header is client-controlled without a proxy.
   */
  TRUST_PROXY_HOPS: int(0, 10).default(0),
  /** Node only: run the in-process schedules (sync, FX, snapshots). */
  SCHEDULER: bool.default(true),
  /** Demo mode: the built-in sandbox Zoho org's port (0: any free one); it also serves /__sandbox. */
  DEMO_SANDBOX_PORT: int(0, 65535).default(0),
  /**
   * Demo mode: Stage_History calls the start-up sync may spend. The demo org's whole backfill
   * (about 750 deals) by default, so that a first look shows real days in stage; a real org's
   * syncs spend 100 each.
   */
  DEMO_HISTORY_CALLS: int(0, 100_000).default(2_000),
})

export type Config = z.infer<typeof configSchema> & {
  /** True when no real Zoho client is configured: the built-in sandbox org is used. */
  demoMode: boolean
  secretKey: string
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * Only the built-in sandbox org (demo mode) and test runs against a loopback sandbox may go without
 * SECRET_KEY: with a real Zoho client a well-known key would let anyone forge sessions, so that case
 * is refused below.
 */
const SANDBOX_ONLY_KEY = 'pipeline-pulse-sandbox-only-key'

export function loadConfig(env: Record<string, string | undefined>): Config {
  // Empty strings in .env files mean "unset".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
  const parsed = configSchema.safeParse(cleaned)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const name = String(issue.path[0] ?? 'config')
    throw new ConfigError(`Invalid configuration: ${name}: ${issue.message}`)
  }
  const c = parsed.data
  const demoMode = !c.ZOHO_CLIENT_ID
  if (!demoMode && !c.ZOHO_CLIENT_SECRET)
    throw new ConfigError('Invalid configuration: ZOHO_CLIENT_SECRET: required when ZOHO_CLIENT_ID is set')
  // Test runs against the loopback sandbox may use the well-known key; never against Zoho itself.
  const testSandbox = c.APP_ENV === 'test' && isLoopbackHost(new URL(c.ZOHO_ACCOUNTS_URL).hostname)
  if (!c.SECRET_KEY && (c.APP_ENV === 'production' || (!demoMode && !testSandbox)))
    throw new ConfigError(
      `Invalid configuration: SECRET_KEY: required ${c.APP_ENV === 'production' ? 'in production' : 'with a real Zoho client'}`,
    )
  return { ...c, demoMode, secretKey: c.SECRET_KEY ?? SANDBOX_ONLY_KEY }
}
