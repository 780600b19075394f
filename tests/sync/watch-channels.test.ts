import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { sql } from 'drizzle-orm'
import { query, type Database } from '../../api/src/db/client'
import type { JobContext } from '../../api/src/jobs'
import { syncJob } from '../../api/src/sync/job'
import { ensureWatchChannel, WATCH_CHANNEL_TTL_MS } from '../../api/src/sync/watch-channels'
import { clientForOrg, type ZohoRestClient } from '../../api/src/zoho/client'
import { ZOHO_SYNC_SCOPES } from '../../api/src/zoho/oauth'
import { disableWatch, enableWatch } from '../../api/src/zoho/watch'
import { createTestApp } from '../helpers/app'
import { createTestDatabase, recordedZohoCalls, testDbKind } from '../helpers/db'
import { connectSandbox, crmCalls, sandboxConfig, type Harness } from './setup'

/**
 * Zoho Watch channels end to end: the sandbox Zoho over real HTTP, the real app served on a loopback
 * port as PUBLIC_URL, so the sandbox's callbacks reach POST /api/v1/zoho/notify for real.
 */
describe(`Zoho Watch channels (${testDbKind})`, () => {
  const DAY = 86_400_000
  let database: Database
  let h: Harness
  let app: ReturnType<typeof createTestApp>
  let server: ServerType
  let publicUrl: string
  let ctx: JobContext
  let zoho: ZohoRestClient

  interface SandboxChannel {
    channel_id: string
    notify_url: string
    token: string | null
    channel_expiry: string
  }
  const sandboxChannels = async (): Promise<SandboxChannel[]> => {
    const res = await zoho.get('/actions/watch')
    return res.body === null ? [] : (res.body as { watch: SandboxChannel[] }).watch
  }
  const stored = () =>
    query<{ channel_id: string; org_id: string; token: string; expires_ms: number }>(
      database.db,
      sql`select channel_id, org_id, token, (extract(epoch from expires_at) * 1000)::float8 as expires_ms
          from watch_channels order by expires_at`,
    )
  const recordedCalls = () => recordedZohoCalls(database.db, h.orgId)
  /** Pretends time has passed: the channel (at Zoho and here) now expires in `ms`. */
  const expireIn = async (ch: { channel_id: string; token: string }, ms: number) => {
    const r = await enableWatch(
      zoho,
      {
        channelId: ch.channel_id,
        notifyUrl: `${publicUrl}/api/v1/zoho/notify`,
        token: ch.token,
        expiry: new Date(Date.now() + ms),
      },
      { replace: true },
    )
    await query(
      database.db,
      sql`update watch_channels set expires_at = ${r.expiresAt.toISOString()}::timestamptz
          where channel_id = ${ch.channel_id}`,
    )
  }

  beforeAll(async () => {
    database = await createTestDatabase()
    h = await connectSandbox(database, { deals: 60 })
    app = createTestApp(database, {}, { config: h.config })
    server = serve({ fetch: app.app.fetch, port: 0, hostname: '127.0.0.1' })
    await new Promise<void>((r) => (server.listening ? r() : server.once('listening', () => r())))
    publicUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    ctx = { ...h.ctx, config: sandboxConfig(h.sb, { PUBLIC_URL: publicUrl }) }
    zoho = await clientForOrg(database.db, h.config, h.orgId, fetch)
  })
  afterAll(async () => {
    await h?.sb.settleNotifications()
    await app?.settle()
    await new Promise((r) => (server ? server.close(r) : r(undefined)))
    await h?.close()
    await database?.close()
  })

  it('without PUBLIC_URL nothing is subscribed and Zoho is not called', async () => {
    h.sb.resetCalls()
    expect(await ensureWatchChannel(h.ctx, h.orgId)).toEqual({ status: 'disabled' })
    expect(crmCalls(h.sb)).toEqual([])
    expect(await stored()).toEqual([])
    expect(await sandboxChannels()).toEqual([])
  })

  it('a connection without a notifications scope is left alone (and stays active)', async () => {
    const [conn] = await query<{ scopes: string | null }>(
      database.db,
      sql`select scopes from zoho_connections where org_id = ${h.orgId}`,
    )
    await query(
      database.db,
      sql`update zoho_connections set scopes = ${ZOHO_SYNC_SCOPES.filter((s) => !s.startsWith('ZohoCRM.notifications')).join(',')} where org_id = ${h.orgId}`,
    )
    try {
      h.sb.resetCalls()
      expect(await ensureWatchChannel(ctx, h.orgId)).toEqual({ status: 'no_scope' })
      expect(crmCalls(h.sb)).toEqual([])
      expect(await stored()).toEqual([])
      const [after] = await query<{ status: string }>(
        database.db,
        sql`select status from zoho_connections where org_id = ${h.orgId}`,
      )
      expect(after!.status).toBe('active')
    } finally {
      await query(
        database.db,
        sql`update zoho_connections set scopes = ${conn!.scopes} where org_id = ${h.orgId}`,
      )
    }
  })

  it('the scheduled sync job subscribes a week-long channel calling back PUBLIC_URL', async () => {
    const result = await syncJob(ctx)
    expect(result).toMatchObject({ orgs: 1, succeeded: 1 })
    const rows = await stored()
    expect(rows).toHaveLength(1)
    const row = rows[0]!
    expect(row.org_id).toBe(h.orgId)
    expect(row.channel_id).toMatch(/^\d{1,19}$/)
    expect(row.token.length).toBeGreaterThanOrEqual(32)
    expect(row.token.length).toBeLessThanOrEqual(50)
    expect(row.expires_ms - Date.now()).toBeGreaterThan(WATCH_CHANNEL_TTL_MS - 60_000)
    expect(row.expires_ms - Date.now()).toBeLessThanOrEqual(7 * DAY)

    const [ch, ...more] = await sandboxChannels()
    expect(more).toEqual([])
    expect(ch).toMatchObject({
      channel_id: row.channel_id,
      notify_url: `${publicUrl}/api/v1/zoho/notify`,
      token: row.token,
    })
    // Zoho's answer (not our request) is what is stored: a default 1-hour channel would show here.
    expect(Math.abs(Date.parse(ch!.channel_expiry) - row.expires_ms)).toBeLessThan(1000)

    // Fresh: the next job leaves it alone without calling Zoho's Watch API.
    h.sb.resetCalls()
    expect(await ensureWatchChannel(ctx, h.orgId)).toMatchObject({
      status: 'live',
      channelId: row.channel_id,
    })
    expect(crmCalls(h.sb, '/crm/v8/actions/watch')).toEqual([])
  })

  it("an edit in Zoho reaches the database through the channel's callback, without a sync", async () => {
    const [deal] = await query<{ id: string }>(
      database.db,
      sql`select id from deals where org_id = ${h.orgId} order by id limit 1`,
    )
    const runsBefore = await query<{ id: string }>(database.db, sql`select id from sync_runs`)
    h.sb.editDeal(deal!.id, { Deal_Name: 'Renamed in Zoho', Amount: 4321.09 })
    await h.sb.settleNotifications()
    const delivery = h.sb.notifications.at(-1)!
    expect(delivery.status).toBe(202)
    await app.settle()

    const [row] = await query<{ name: string; amount: string }>(
      database.db,
      sql`select name, amount::text as amount from deals where org_id = ${h.orgId} and id = ${deal!.id}`,
    )
    expect(row).toEqual({ name: 'Renamed in Zoho', amount: '4321.09' })
    const runs = await query<{ kind: string; trigger: string; status: string }>(
      database.db,
      sql`select kind, trigger, status from sync_runs
          where id not in (select jsonb_array_elements_text(${JSON.stringify(runsBefore.map((r) => r.id))}::jsonb))`,
    )
    expect(runs).toEqual([{ kind: 'ids', trigger: 'watch', status: 'succeeded' }])
  })

  it('a channel expiring within 2 days is renewed in place for another week', async () => {
    const [before] = await stored()
    await expireIn(before!, DAY)
    const [near] = await sandboxChannels()
    expect(Date.parse(near!.channel_expiry) - Date.now()).toBeLessThan(DAY + 60_000)

    const calls = await recordedCalls()
    h.sb.resetCalls()
    const out = await ensureWatchChannel(ctx, h.orgId)
    expect(out).toMatchObject({ status: 'renewed', channelId: before!.channel_id })
    // The renewal's call counts in the org's hourly Zoho budget, as a sync's do.
    expect(crmCalls(h.sb, '/crm/v8/actions/watch')).toHaveLength(1)
    expect(await recordedCalls()).toBe(calls + 1)
    const [after, ...more] = await stored()
    expect(more).toEqual([])
    expect(after).toMatchObject({ channel_id: before!.channel_id, token: before!.token })
    expect(after!.expires_ms - Date.now()).toBeGreaterThan(6 * DAY)
    const [ch] = await sandboxChannels()
    expect(ch!.channel_id).toBe(before!.channel_id)
    expect(Date.parse(ch!.channel_expiry) - Date.now()).toBeGreaterThan(6 * DAY)
  })

  it('a channel Zoho no longer knows is replaced by a new one; an expired row is dropped', async () => {
    const [old] = await stored()
    await expireIn(old!, DAY)
    expect(await disableWatch(zoho, [old!.channel_id, '999'])).toEqual([old!.channel_id])
    expect(await sandboxChannels()).toEqual([])
    // A leftover row past its expiry (its channel is gone at Zoho) must stop authenticating callbacks.
    await query(
      database.db,
      sql`insert into watch_channels (channel_id, org_id, token, expires_at)
          values ('42', ${h.orgId}, 'stale-token', now() - interval '1 minute')`,
    )

    const out = await ensureWatchChannel(ctx, h.orgId)
    expect(out.status).toBe('created')
    const rows = await stored()
    expect(rows).toHaveLength(1)
    expect(rows[0]!.channel_id).not.toBe(old!.channel_id)
    expect(rows[0]!.token).not.toBe(old!.token)
    const [ch] = await sandboxChannels()
    expect(ch).toMatchObject({ channel_id: rows[0]!.channel_id, token: rows[0]!.token })

    // The old token no longer gets in; the new channel's callbacks do.
    const [deal] = await query<{ id: string }>(
      database.db,
      sql`select id from deals where org_id = ${h.orgId} order by id desc limit 1`,
    )
    const stale = await fetch(`${publicUrl}/api/v1/zoho/notify`, {
      method: 'POST',
      body: JSON.stringify({
        channel_id: old!.channel_id,
        token: old!.token,
        module: 'Deals',
        ids: [deal!.id],
      }),
    })
    expect(stale.status).toBe(403)
    h.sb.editDeal(deal!.id, { Stage: 'Closed Lost' })
    await h.sb.settleNotifications()
    expect(h.sb.notifications.at(-1)!).toMatchObject({ channel_id: rows[0]!.channel_id, status: 202 })
    await app.settle()
    const [row] = await query<{ stage: string }>(
      database.db,
      sql`select stage from deals where org_id = ${h.orgId} and id = ${deal!.id}`,
    )
    expect(row!.stage).toBe('Closed Lost')
  })
})
