import { beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query } from '../../api/src/db/client'
import { syncProgressEvent, syncRunsResponse, syncStatusResponse } from '../../shared/contracts/sync'
import { createTestApp } from '../helpers/app'
import { asUser, asWidget } from '../helpers/auth'
import { testDbKind } from '../helpers/db'
import { sandboxSuite, truth } from './setup'

/** "Sync now", live progress, run history, the as-of badge and the Watch callback, over HTTP. */
describe(`sync routes (${testDbKind})`, () => {
  const { database, h } = sandboxSuite({ sandbox: { deals: 400 } })
  let app: ReturnType<typeof createTestApp>
  let admin: string
  let rep: string
  beforeAll(() => {
    // settle() waits for the app's background tasks (the sync a route starts).
    app = createTestApp(database, {}, { config: h.config })
    admin = h.sb.users.admin.id
    rep = h.sb.users.reps[0]!.id
  })

  it('POST /sync starts a run (202), refuses a second while it runs (409), and the stream ends with done', async () => {
    // Users are not known before the first sync: seed them with a metadata-only run of the engine.
    const { syncMetadata } = await import('../../api/src/sync/metadata')
    const client = await h.ctx.clientFor!(h.orgId)
    await syncMetadata(database.db, client, h.orgId, {
      apiDomain: h.sb.apiDomain,
      baseCurrency: 'SGD',
      logger: h.ctx.logger,
    })

    const headers = await asWidget(h.config, h.orgId, admin)
    h.sb.setFaults({ latencyMs: 50 }) // the run is surely still going when the second POST arrives
    const res = await app.app.request('/api/v1/sync', { method: 'POST', headers, body: '' })
    expect(res.status).toBe(202)
    const { runId } = (await res.json()) as { runId: string }
    expect(runId).toBeTruthy()

    const busy = await app.app.request('/api/v1/sync', { method: 'POST', headers })
    expect(busy.status).toBe(409)
    expect(((await busy.json()) as { error: { code: string } }).error.code).toBe('SYNC_RUNNING')
    h.sb.setFaults({})

    const stream = await app.app.request(`/api/v1/sync/stream/${runId}`, { headers })
    expect(stream.status).toBe(200)
    expect(stream.headers.get('content-type')).toContain('text/event-stream')
    const text = await stream.text()
    const events = text
      .split('\n\n')
      .map((block) => ({
        event: /^event: (.*)$/m.exec(block)?.[1],
        data: /^data: (.*)$/m.exec(block)?.[1],
      }))
      .filter((e) => e.event)
    expect(events.at(-1)!.event).toBe('done')
    const last = syncProgressEvent.parse(JSON.parse(events.at(-1)!.data!))
    expect(last).toMatchObject({
      runId,
      status: 'succeeded',
      read: 400,
      records: 400,
      estimatedSecondsLeft: 0,
    })
    expect(last.apiCalls).toBeGreaterThan(0)
    await app.settle()
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)

    const runs = syncRunsResponse.parse(
      await (await app.app.request('/api/v1/sync/runs', { headers })).json(),
    )
    expect(runs.runs[0]).toMatchObject({
      id: runId,
      kind: 'full',
      trigger: 'manual',
      status: 'succeeded',
      read: 400,
      records: 400,
    })
    expect(runs.runs[0]!.durationSeconds).not.toBeNull()

    const repHeaders = await asUser(h.config, h.orgId, rep)
    const status = syncStatusResponse.parse(
      await (await app.app.request('/api/v1/sync/status', { headers: repHeaders })).json(),
    )
    expect(status.lastSuccessAt).not.toBeNull()
    expect(status.runningRunId).toBeNull()
    // Every call the org's runs made this hour, and connecting's one read of the org, against the
    // configured budget.
    const spent = runs.runs.reduce((n, r) => n + r.apiCalls, 0)
    expect(spent).toBeGreaterThan(0)
    expect(status.zohoCalls).toEqual({ lastHour: spent + 1, perHour: h.config.API_RATE_LIMIT_PER_HOUR })
  })

  it('a full re-sync of an org already stored reports every deal read and none changed', async () => {
    const headers = await asWidget(h.config, h.orgId, admin)
    const res = await app.app.request('/api/v1/sync', { method: 'POST', headers, body: '{"kind":"full"}' })
    expect(res.status).toBe(202)
    const { runId } = (await res.json()) as { runId: string }
    const text = await (await app.app.request(`/api/v1/sync/stream/${runId}`, { headers })).text()
    const done = /event: done\ndata: (.*)\n/.exec(text)
    expect(done, text).not.toBeNull()
    expect(syncProgressEvent.parse(JSON.parse(done![1]!))).toMatchObject({
      runId,
      status: 'succeeded',
      read: 400,
      records: 0,
      deletions: 0,
    })
    await app.settle()
    const runs = syncRunsResponse.parse(
      await (await app.app.request('/api/v1/sync/runs?limit=1', { headers })).json(),
    )
    expect(runs.runs[0]).toMatchObject({ id: runId, kind: 'full', read: 400, records: 0 })
  })

  it('reps may not start syncs nor read runs; bad input is a 400; other orgs\u2019 runs are not found', async () => {
    const repHeaders = await asWidget(h.config, h.orgId, rep)
    expect((await app.app.request('/api/v1/sync', { method: 'POST', headers: repHeaders })).status).toBe(403)
    expect((await app.app.request('/api/v1/sync/runs', { headers: repHeaders })).status).toBe(403)
    expect((await app.app.request('/api/v1/sync/runs')).status).toBe(401)
    const headers = await asWidget(h.config, h.orgId, admin)
    const bad = await app.app.request('/api/v1/sync', {
      method: 'POST',
      headers,
      body: '{"kind":"everything"}',
    })
    expect(bad.status).toBe(400)
    expect((await app.app.request('/api/v1/sync/runs?limit=0', { headers })).status).toBe(400)
    expect((await app.app.request('/api/v1/sync/stream/no-such-run', { headers })).status).toBe(404)
  })

  it('POST /zoho/notify: a wrong token is refused; a right one re-fetches the named deals', async () => {
    await database.db.execute(
      sql`insert into watch_channels (channel_id, org_id, token, expires_at)
          values ('1000000068001', ${h.orgId}, 'per-channel-secret', now() + interval '1 day')`,
    )
    const [deal] = [...h.sb.deals()]
    const id = String(deal!.id)
    h.sb.editDeal(id, { Amount: 777.77 })
    const body = (token: string) =>
      JSON.stringify({
        server_time: Date.now(),
        module: 'Deals',
        resource_uri: 'https://www.zohoapis.com/crm/v2/Deals',
        ids: [id],
        operation: 'update',
        channel_id: '1000000068001',
        token,
        query_params: {},
      })
    const wrong = await app.app.request('/api/v1/zoho/notify', { method: 'POST', body: body('guess') })
    expect(wrong.status).toBe(403)
    h.sb.resetCalls()
    const ok = await app.app.request('/api/v1/zoho/notify', {
      method: 'POST',
      body: body('per-channel-secret'),
    })
    expect(ok.status).toBe(202)
    await app.settle()
    const [row] = await query<{ amount: string }>(
      database.db,
      sql`select amount::text from deals where org_id = ${h.orgId} and id = ${id}`,
    )
    expect(row!.amount).toBe('777.77')
    const crm = h.sb.calls.filter((c) => c.service === 'crm')
    expect(crm.map((c) => `${c.path}?ids=${c.query.ids}`)).toEqual([`/crm/v8/Deals?ids=${id}`])

    h.sb.deleteDeal(id)
    const del = await app.app.request('/api/v1/zoho/notify', {
      method: 'POST',
      body: body('per-channel-secret').replace('"update"', '"delete"'),
    })
    expect(del.status).toBe(202)
    // The delete is a hint: the ids run it starts asks Zoho, which no longer returns the deal.
    await app.settle()
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
  })
})
