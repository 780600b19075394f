import { beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query } from '../../api/src/db/client'
import { createTestApp } from '../helpers/app'
import { testDbKind } from '../helpers/db'
import { crmCalls, sandboxSuite, truth } from './setup'

/**
 * The Zoho Watch callback as an attacker holding (or guessing) a channel sees it: hostile bodies are
 * a 400, an expired channel's token is refused, and a "delete" removes only what Zoho, asked by id,
 * no longer returns.
 */
describe(`Zoho notify: hints, not orders (${testDbKind})`, () => {
  const { database, h } = sandboxSuite({ sandbox: { deals: 60 }, firstSync: true })
  let app: ReturnType<typeof createTestApp>
  const LIVE = '1000000068201'
  const EXPIRED = '1000000068202'
  const TOKEN = 'a'.repeat(48)

  const notify = (body: unknown) =>
    app.app.request('/api/v1/zoho/notify', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })
  const dealIds = async () =>
    (await query<{ id: string }>(database.db, sql`select id from deals where org_id = ${h.orgId}`)).map(
      (r) => r.id,
    )
  const idsRuns = () =>
    query<{ status: string; deletions: number }>(
      database.db,
      sql`select status, deletions from sync_runs where org_id = ${h.orgId} and kind = 'ids' order by started_at`,
    )

  beforeAll(async () => {
    app = createTestApp(database, {}, { config: h.config })
    await database.db.execute(sql`insert into watch_channels (channel_id, org_id, token, expires_at) values
      (${LIVE}, ${h.orgId}, ${TOKEN}, now() + interval '1 day'),
      (${EXPIRED}, ${h.orgId}, ${TOKEN}, now() - interval '1 minute')`)
  })

  it('answers a NUL or an oversized value in channel_id/token with 400 in the error envelope', async () => {
    for (const body of [
      { channel_id: 'x\u0000', token: 't', ids: [] },
      { channel_id: LIVE, token: `${TOKEN}\u0000`, ids: [] },
      { channel_id: '1'.repeat(5000), token: TOKEN, ids: [] },
      { channel_id: LIVE, token: 'x'.repeat(5000), ids: [] },
      '{"channel_id":"1000\\u0000","token":"t"}',
    ]) {
      const res = await notify(body)
      expect(res.status, JSON.stringify(body).slice(0, 60)).toBe(400)
      const err = ((await res.json()) as { error: { code: string; message: string; requestId: string } })
        .error
      expect(err.code).toBe('INVALID_INPUT')
      expect(err.requestId).toBeTruthy()
    }
  })

  it('refuses an expired channel even with its right token, and touches nothing', async () => {
    const before = await dealIds()
    h.sb.resetCalls()
    const res = await notify({
      channel_id: EXPIRED,
      token: TOKEN,
      module: 'Deals',
      operation: 'delete',
      ids: before,
    })
    expect(res.status).toBe(403)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INVALID_CHANNEL_TOKEN')
    await app.settle()
    expect((await dealIds()).length).toBe(before.length)
    expect(crmCalls(h.sb)).toEqual([])
    expect(await idsRuns()).toEqual([])
  })

  it('a forged "delete" of deals that still exist in Zoho deletes nothing', async () => {
    const before = await dealIds()
    const victims = before.slice(0, 5)
    h.sb.resetCalls()
    const res = await notify({
      channel_id: LIVE,
      token: TOKEN,
      module: 'Deals',
      operation: 'delete',
      ids: victims,
    })
    expect(res.status).toBe(202)
    await app.settle()
    expect((await dealIds()).sort()).toEqual([...before].sort())
    // Zoho was asked about exactly those ids
    expect(crmCalls(h.sb, '/crm/v8/Deals').map((c) => c.query.ids?.split(',').sort())).toEqual([
      [...victims].sort(),
    ])
    expect(await idsRuns()).toEqual([{ status: 'succeeded', deletions: 0 }])
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
  })

  it('a real delete is confirmed with Zoho, removed, counted on the run, and the rollups rebuilt', async () => {
    const before = await dealIds()
    const [gone, kept] = before
    h.sb.deleteDeal(gone!)
    const res = await notify({
      channel_id: LIVE,
      token: TOKEN,
      module: 'Deals',
      operation: 'delete',
      ids: [gone, kept],
    })
    expect(res.status).toBe(202)
    await app.settle()
    const after = await dealIds()
    expect(after).not.toContain(gone)
    expect(after).toContain(kept)
    expect(after.length).toBe(before.length - 1)
    expect((await idsRuns()).at(-1)).toEqual({ status: 'succeeded', deletions: 1 })
    // finalize saw the run's deletion and rebuilt the month rollups: they no longer count the deal
    const [rolled] = await query<{ n: number }>(
      database.db,
      sql`select coalesce(sum(deal_count), 0)::int as n from deal_month_rollup where org_id = ${h.orgId}`,
    )
    expect(rolled!.n).toBe(after.length)
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
  })
})
