import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { loadConfig } from '../../api/src/config'
import { connectPostgres, query, type Database } from '../../api/src/db/client'
import { createLogger } from '../../api/src/observability/logger'
import { startSandbox, type Sandbox } from '../../api/src/sandbox'
import { SCHEDULES } from '../../api/src/schedules'
import { bootstrapConnection } from '../../api/src/sync/bootstrap'
import { acquireLease, releaseLease } from '../../api/src/sync/lease'
import { createPostgresDatabaseUrl } from '../helpers/db'
import { compareWithTruth } from '../helpers/truth'
import { asWidget } from '../helpers/auth'
import type { Config } from '../../api/src/config'
import { startWranglerDev, type WranglerDev } from './wrangler'
import { sandboxEnv } from '../sync/setup'

const TEST_SIGNING_KEY = 'worker-test-secret-key-0123456789'

describe('the Worker under wrangler dev, on PostgreSQL through Hyperdrive', () => {
  let worker: WranglerDev
  let pg: { url: string; drop(): Promise<void> }
  let sandbox: Sandbox
  let database: Database
  let orgId: string
  let config: Config

  beforeAll(async () => {
    pg = await createPostgresDatabaseUrl()
    sandbox = await startSandbox({ deals: 450, seed: 11 })
    const vars = {
      ...sandboxEnv(sandbox),
      LOG_LEVEL: 'warn',
      SECRET_KEY: TEST_SIGNING_KEY,
      // Watch channels are created by the sync cron; the sandbox's callbacks to it go nowhere.
      PUBLIC_URL: 'http://127.0.0.1:9',
    }
    // Connect the sandbox org as `npm start`/ZOHO_REFRESH_TOKEN would, into the Worker's database.
    database = connectPostgres(pg.url, { max: 2 })
    config = loadConfig(vars)
    ;({ orgId } = await bootstrapConnection(
      { db: database.db, config, fetch: globalThis.fetch, logger: createLogger('silent') },
      sandbox.issueRefreshToken(),
    ))
    worker = await startWranglerDev(pg.url, vars)
  }, 180_000)

  /** Client connections to the test database, the Worker's and ours. */
  async function openConnections(): Promise<number> {
    const [row] = await query<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from pg_stat_activity
          where datname = current_database() and backend_type = 'client backend'`,
    )
    return row!.n
  }

  afterAll(async () => {
    await worker?.stop()
    await database?.close()
    await sandbox?.close()
    await pg?.drop()
  })

  it('answers /healthz and /readyz (database reachable, migrations applied)', async () => {
    const live = await fetch(`${worker.url}/healthz`)
    expect(live.status).toBe(200)
    expect(live.headers.get('x-request-id')).toBeTruthy()
    const ready = await fetch(`${worker.url}/readyz`)
    expect(await ready.json()).toMatchObject({ status: 'ready', database: 'up' })
  })

  it('answers unknown API routes with the error envelope', async () => {
    const res = await fetch(`${worker.url}/api/v1/nope`)
    expect(res.status).toBe(404)
    const body = (await res.json()) as { error: { code: string; requestId: string } }
    expect(body.error.code).toBe('NOT_FOUND')
    expect(body.error.requestId).toBe(res.headers.get('x-request-id'))
  })

  it('the FX cron, fired through /cdn-cgi/handler/scheduled, stores a weekly rate set', async () => {
    const fired = await worker.fireCron(SCHEDULES.fx)
    expect(fired.status, fired.detail).toBe(200)
    const [row] = await query<{ n: number }>(database.db, sql`select count(*)::int as n from fx_rates`)
    expect(row!.n).toBeGreaterThan(10)
  })

  it('the sync cron starts the sync Workflow, which brings every deal in exactly', async () => {
    const before = await openConnections()
    const fired = await worker.fireCron(SCHEDULES.sync)
    expect(fired.status, fired.detail).toBe(200)
    const deadline = Date.now() + 150_000
    let run: { status: string; trigger: string } | undefined
    do {
      await new Promise((r) => setTimeout(r, 1000))
      ;[run] = await query<{ status: string; trigger: string }>(
        database.db,
        sql`select status, trigger from sync_runs where org_id = ${orgId} order by started_at desc limit 1`,
      )
    } while ((!run || run.status === 'running' || run.status === 'queued') && Date.now() < deadline)
    const cmp = await compareWithTruth(database.db, orgId, sandbox.deals())
    expect(cmp.diff).toBe('')
    expect(cmp.db).toEqual(cmp.truth)
    expect(run).toEqual({ status: 'succeeded', trigger: 'cron' })
    // Each of the Workflow's steps (several here: pages, deletions, the history backfill) closed its
    // database client: Workers allow 6 open connections per invocation, and steps can share one.
    // (Ours may have opened its second pooled connection meanwhile: one more is allowed.)
    await new Promise((r) => setTimeout(r, 1000))
    expect(await openConnections()).toBeLessThanOrEqual(before + 1)
  })

  it('a manual sync (POST /api/v1/sync) is handed to the Workflow and brings an edit in', async () => {
    const first = sandbox.deals()[Symbol.iterator]().next().value as { id: string }
    sandbox.editDeal(first.id, { Amount: 123456.78 })
    const res = await fetch(`${worker.url}/api/v1/sync`, {
      method: 'POST',
      headers: {
        ...(await asWidget(config, orgId, sandbox.users.admin.id)),
        'content-type': 'application/json',
      },
      body: '{}',
    })
    expect(res.status, await res.clone().text()).toBe(202)
    const { runId } = (await res.json()) as { runId: string }
    const deadline = Date.now() + 120_000
    let status = 'queued'
    while ((status === 'queued' || status === 'running') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000))
      ;[{ status }] = (await query<{ status: string }>(
        database.db,
        sql`select status from sync_runs where id = ${runId}`,
      )) as [{ status: string }]
    }
    expect(status).toBe('succeeded')
    const [row] = await query<{ amount: string }>(
      database.db,
      sql`select amount::text from deals where org_id = ${orgId} and id = ${first.id}`,
    )
    expect(row?.amount).toBe('123456.78')
    expect((await compareWithTruth(database.db, orgId, sandbox.deals())).diff).toBe('')
  })

  it('the sync cron creates the org a Zoho Watch channel (PUBLIC_URL set)', async () => {
    const channels = await query<{ org_id: string }>(
      database.db,
      sql`select org_id from watch_channels where expires_at > now()`,
    )
    expect(channels).toEqual([{ org_id: orgId }])
  })

  it('a sync Workflow that finds the org busy waits for it instead of ending until the next cron', async () => {
    const first = sandbox.deals()[Symbol.iterator]().next().value as { id: string }
    sandbox.editDeal(first.id, { Amount: 654321.09 })
    const since = new Date().toISOString()
    // Another holder (a Watch run, say) has the org when the Workflow's first step starts.
    expect(await acquireLease(database.db, orgId, 'another-holder', 600)).toBe(true)
    const fired = await worker.fireCron(SCHEDULES.sync)
    expect(fired.status, fired.detail).toBe(200)
    await new Promise((r) => setTimeout(r, 4000))
    await releaseLease(database.db, orgId, 'another-holder')
    const deadline = Date.now() + 120_000
    let run: { status: string } | undefined
    do {
      await new Promise((r) => setTimeout(r, 1000))
      ;[run] = await query<{ status: string }>(
        database.db,
        sql`select status from sync_runs where org_id = ${orgId} and trigger = 'cron' and started_at > ${since}::timestamptz
            order by started_at desc limit 1`,
      )
    } while (run?.status !== 'succeeded' && Date.now() < deadline)
    expect(run?.status, worker.output().slice(-3000)).toBe('succeeded')
    const [row] = await query<{ amount: string }>(
      database.db,
      sql`select amount::text from deals where org_id = ${orgId} and id = ${first.id}`,
    )
    expect(row?.amount).toBe('654321.09')
  }, 150_000)
})
