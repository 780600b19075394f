import { createServer, type Server } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { loadConfig } from '../../api/src/config'
import { connectPostgres, query, type Database } from '../../api/src/db/client'
import { createLogger } from '../../api/src/observability/logger'
import { startSandbox, type Sandbox } from '../../api/src/sandbox'
import { SCHEDULES } from '../../api/src/schedules'
import { bootstrapConnection } from '../../api/src/sync/bootstrap'
import { createPostgresDatabaseUrl } from '../helpers/db'
import { startWranglerDev, type WranglerDev } from './wrangler'
import { sandboxEnv } from '../sync/setup'

const TEST_SIGNING_KEY = 'worker-sentry-test-secret-0123456789'
/** The parts of a Sentry error event these tests read. */
interface SentryEvent {
  exception?: { values: { type: string; value: string }[] }
  tags?: Record<string, string>
}

/**
 * Stands in for Sentry's ingest (the edge of the world): collects the error events of every
 * envelope POSTed to it. An envelope is newline-separated JSON: a header, then item headers and items.
 */
async function startFakeSentry(): Promise<{ dsn: string; events: SentryEvent[]; close(): Promise<void> }> {
  const events: SentryEvent[] = []
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      for (const line of body.split('\n')) {
        try {
          const item = JSON.parse(line) as SentryEvent
          if (item.exception) events.push(item)
        } catch {
          /* not a JSON line */
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  return {
    dsn: `http://publickey@127.0.0.1:${port}/1`,
    events,
    close: () => new Promise((r) => server.close(() => r())),
  }
}

/** The first event `match` accepts, waiting for it to arrive (the Worker flushes after it answers). */
async function eventMatching(events: SentryEvent[], match: (e: SentryEvent) => boolean, ms = 15_000) {
  const deadline = Date.now() + ms
  for (;;) {
    const found = events.find(match)
    if (found || Date.now() > deadline) return found
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** The event's error messages, its causes' included (the SDK sends each as a linked exception). */
const message = (e: SentryEvent) => (e.exception?.values ?? []).map((v) => v.value).join('\n')

describe('with SENTRY_DSN set, the Worker under wrangler dev reports failed crons and Workflow steps', () => {
  let sentry: Awaited<ReturnType<typeof startFakeSentry>>
  let worker: WranglerDev
  let pg: { url: string; drop(): Promise<void> }
  let sandbox: Sandbox
  let database: Database
  let orgId: string
  let refreshToken: string
  let state: string
  const badOrg = '90000000000000000001'

  const fireCron = async (cron: string) => (await worker.fireCron(cron)).status

  beforeAll(async () => {
    sentry = await startFakeSentry()
    pg = await createPostgresDatabaseUrl()
    sandbox = await startSandbox({ deals: 20, seed: 5 })
    const vars = {
      ...sandboxEnv(sandbox),
      LOG_LEVEL: 'warn',
      SECRET_KEY: TEST_SIGNING_KEY,
      SENTRY_DSN: sentry.dsn,
    }
    database = connectPostgres(pg.url, { max: 2 })
    refreshToken = sandbox.issueRefreshToken()
    ;({ orgId } = await bootstrapConnection(
      { db: database.db, config: loadConfig(vars), fetch: globalThis.fetch, logger: createLogger('silent') },
      refreshToken,
    ))
    state = mkdtempSync(join(tmpdir(), 'pp-wrangler-sentry-'))
    worker = await startWranglerDev(pg.url, vars, { persistTo: state })
  }, 180_000)

  afterAll(async () => {
    await worker?.stop()
    await database?.close()
    await sandbox?.close()
    await pg?.drop()
    await sentry?.close()
    if (state) rmSync(state, { recursive: true, force: true })
  })

  it('a sync Workflow step that fails (the Zoho connection revoked) is reported with its org and step', async () => {
    // The admin revokes the app's access at Zoho; the access token the connection holds has expired.
    const revoked = await fetch(`${sandbox.accountsUrl}/oauth/v2/token/revoke?token=${refreshToken}`, {
      method: 'POST',
    })
    expect(revoked.status).toBe(200)
    sandbox.expireAccessTokens()
    expect(await fireCron(SCHEDULES.sync)).toBe(200)
    const step = `sync ${orgId} step 0`
    const event = await eventMatching(sentry.events, (e) => e.tags?.workflow_step === step)
    expect(event?.tags, worker.output().slice(-3000)).toMatchObject({ org_id: orgId, workflow_step: step })
    expect(message(event!)).toContain('Zoho refused the stored refresh token (invalid_code)')
  })

  it('a snapshot cron that fails one org (a time zone nothing can read) reports that org, and still snapshots the others', async () => {
    await database.db.execute(
      sql`insert into orgs (id, name, time_zone, home_currency) values (${badOrg}, 'Mars office', 'Mars/Olympus_Mons', 'USD')`,
    )
    expect(await fireCron(SCHEDULES.snapshot)).toBe(200)
    const event = await eventMatching(sentry.events, (e) => e.tags?.org_id === badOrg)
    expect(event?.tags, worker.output().slice(-3000)).toMatchObject({ job: 'snapshot', org_id: badOrg })
    expect(message(event!)).toContain(`snapshot job failed for org ${badOrg}`)
    expect(message(event!)).toContain('Mars/Olympus_Mons')
    const [row] = await query<{ last: string | null }>(
      database.db,
      sql`select last_snapshot_day::text as last from sync_state where org_id = ${orgId}`,
    )
    expect(row?.last).toBeTruthy()
  })

  it('the failed Workflow step is rethrown: the Workflow retries it, and the retry is reported too', async () => {
    const step = `sync ${orgId} step 0`
    // The first retry comes 10 seconds after the first attempt (wrangler.toml's step config).
    const attempts = async () => {
      const deadline = Date.now() + 25_000
      while (sentry.events.filter((e) => e.tags?.workflow_step === step).length < 2 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 250))
      return sentry.events.filter((e) => e.tags?.workflow_step === step).length
    }
    expect(await attempts()).toBeGreaterThanOrEqual(2)
  }, 40_000)

  it('a cron that fails outright (its database refusing connections) is reported with the cron and job', async () => {
    const name = new URL(pg.url).pathname.slice(1)
    const admin = postgres(process.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} })
    try {
      await admin.unsafe(`alter database ${name} allow_connections false`)
      expect(await fireCron(SCHEDULES.snapshot)).not.toBe(200)
    } finally {
      await admin.unsafe(`alter database ${name} allow_connections true`)
      await admin.end()
    }
    const event = await eventMatching(
      sentry.events,
      (e) => e.tags?.cron === SCHEDULES.snapshot && !e.tags?.org_id,
    )
    expect(event?.tags, worker.output().slice(-3000)).toMatchObject({
      cron: SCHEDULES.snapshot,
      job: 'snapshot',
    })
    expect(message(event!)).toContain('not currently accepting connections')
  })
})
