import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest'
import { sql } from 'drizzle-orm'
import { loadConfig, type Config } from '../../api/src/config'
import { nodeZohoHttp } from '../../api/src/zoho/node-http'
import type { Database } from '../../api/src/db/client'
import { createLogger } from '../../api/src/observability/logger'
import { startSandbox, type Sandbox, type SandboxOptions } from '../../api/src/sandbox'
import { bootstrapConnection } from '../../api/src/sync/bootstrap'
import { runOrgSync } from '../../api/src/sync/run'
import type { SyncContext } from '../../api/src/sync/session'
import { clientForOrg, type ZohoClientOptions } from '../../api/src/zoho/client'
import { createTestDatabase } from '../helpers/db'
import { compareWithTruth } from '../helpers/truth'

/** The environment variables that point every Zoho and FX URL at a running sandbox (for a child process too). */
export function sandboxEnv(sb: Sandbox): Record<string, string> {
  return {
    APP_ENV: 'test',
    ZOHO_CLIENT_ID: sb.clientId,
    ZOHO_CLIENT_SECRET: sb.clientSecret,
    ZOHO_ACCOUNTS_URL: sb.accountsUrl,
    ZOHO_API_DOMAIN: sb.apiDomain,
    CURRENCY_API_URL: sb.fxUrl,
    CURRENCY_API_KEY: sb.fxApiKey,
  }
}

/** Config pointing every Zoho and FX URL at a running sandbox. */
export function sandboxConfig(sb: Sandbox, extra: Record<string, string> = {}): Config {
  return loadConfig({
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    ...sandboxEnv(sb),
    API_RATE_LIMIT_PER_HOUR: '100000',
    ...extra,
  })
}

/** The sync's context over the test database, with short client backoffs so fault tests stay fast (`client`: more client options). */
export function syncContext(
  database: Database,
  config: Config,
  fetchImpl?: typeof fetch,
  client: Partial<ZohoClientOptions> = {},
): SyncContext {
  const logger = createLogger(config.LOG_LEVEL)
  const fetch = fetchImpl ?? globalThis.fetch
  // As on Node: the CRM calls over node:http. A test that passes its own fetch gets it for them.
  const zohoHttp = fetchImpl ? undefined : nodeZohoHttp
  return {
    config,
    db: database.db,
    logger,
    fetch,
    zohoHttp,
    now: () => new Date(),
    clientFor: (orgId) =>
      clientForOrg(database.db, config, orgId, fetch, {
        http: zohoHttp,
        baseDelayMs: 2,
        maxDelayMs: 20,
        logger,
        ...client,
      }),
  }
}

export interface Harness {
  sb: Sandbox
  config: Config
  ctx: SyncContext
  orgId: string
  close(): Promise<void>
}

/** A sandbox org connected (bootstrapped from the admin's refresh token) to the given database. */
export async function connectSandbox(database: Database, opts: SandboxOptions = {}): Promise<Harness> {
  // FX plan 'free' (historical sets refused once, then remembered) keeps FX calls out of the way;
  // sync.test.ts runs the paid plan.
  const sb = await startSandbox({ deals: 600, fxPlan: 'free', ...opts })
  const config = sandboxConfig(sb)
  const ctx = syncContext(database, config)
  const { orgId } = await bootstrapConnection(ctx, sb.issueRefreshToken())
  return { sb, config, ctx, orgId, close: () => sb.close() }
}

export interface SandboxSuiteOptions {
  /** The sandbox org the hooks connect; without it each test connects its own with `connect`. */
  sandbox?: SandboxOptions
  /** A first full sync has run, and succeeded, before the tests. */
  firstSync?: boolean
  /** A fresh database (and sandbox) for every test rather than one for the describe. */
  each?: boolean
}

export interface SandboxSuite {
  /** The suite's test database. */
  database: Database
  /** The connected sandbox org. */
  h: Harness
  /** Connects this test's own sandbox org (a suite without `sandbox`); closed with the database. */
  connect(opts: SandboxOptions): Promise<Harness>
}

/**
 * A describe's test database and sandbox org: registers the hooks that create them (per describe,
 * or per test with `each`) and close them. `database` and `h` stand for the current ones, so a
 * describe can take them at once and read them inside its tests and hooks.
 */
export function sandboxSuite({
  sandbox,
  firstSync = false,
  each = false,
}: SandboxSuiteOptions): SandboxSuite {
  let database: Database | undefined
  let harness: Harness | undefined
  const current = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`no ${what} yet: read it inside a test or hook`)
    return value
  }
  const currentDatabase = () => current(database, 'test database')
  const currentHarness = () => current(harness, 'sandbox connected')
  const connect = async (opts: SandboxOptions) => {
    if (harness) throw new Error('a sandbox is connected already')
    harness = await connectSandbox(currentDatabase(), opts)
    return harness
  }
  ;(each ? beforeEach : beforeAll)(async () => {
    database = await createTestDatabase()
    if (!sandbox) return
    const h = await connect(sandbox)
    if (firstSync) {
      const first = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
      expect(first.status, first.error).toBe('succeeded')
    }
  })
  ;(each ? afterEach : afterAll)(async () => {
    await harness?.close()
    await database?.close()
    harness = database = undefined
  })
  return {
    database: {
      get db() {
        return currentDatabase().db
      },
      get kind() {
        return currentDatabase().kind
      },
      close: () => currentDatabase().close(),
    },
    h: {
      get sb() {
        return currentHarness().sb
      },
      get config() {
        return currentHarness().config
      },
      get ctx() {
        return currentHarness().ctx
      },
      get orgId() {
        return currentHarness().orgId
      },
      close: () => currentHarness().close(),
    },
    connect,
  }
}

/** Zoho CRM calls to a path (exact) since the last resetCalls(). */
export function crmCalls(sb: Sandbox, path?: string) {
  return sb.calls.filter((c) => c.service === 'crm' && (path === undefined || c.path === path))
}

export async function truth(h: Harness, database: Database) {
  return compareWithTruth(database.db, h.orgId, h.sb.deals(), 'USD')
}

/**
 * `days` pass on both sides: the sandbox's clock moves on (its recycle bin forgets what it lists
 * for less), and the org's stored sync times, and those of the open run `runId`, move back.
 */
export async function daysPass(h: Harness, database: Database, days: number, runId?: string) {
  h.sb.advanceClock(days * 86_400_000)
  const ago = (col: string) => sql.raw(`${col} = ${col} - interval '${days} days'`)
  await database.db.execute(
    sql`update sync_state set ${sql.join(
      [
        'last_success_at',
        'last_full_sync_at',
        'modified_cursor',
        'deleted_cursor',
        'metadata_refreshed_at',
      ].map(ago),
      sql`, `,
    )} where org_id = ${h.orgId}`,
  )
  if (runId) await database.db.execute(sql`update sync_runs set ${ago('started_at')} where id = ${runId}`)
}
