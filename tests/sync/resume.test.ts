import { describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query, type Database } from '../../api/src/db/client'
import { syncStep } from '../../api/src/sync/engine'
import { runOrgSync } from '../../api/src/sync/run'
import type { SyncContext } from '../../api/src/sync/session'
import { startSync } from '../../api/src/sync/start'
import { recordedZohoCalls, testDbKind } from '../helpers/db'
import { crmCalls, sandboxConfig, sandboxSuite, syncContext, truth } from './setup'

async function runError(database: Database, runId: string) {
  const [r] = await query<{ error: string | null }>(
    database.db,
    sql`select error from sync_runs where id = ${runId}`,
  )
  return r!.error
}

async function dealCount(database: Database, orgId: string) {
  const [r] = await query<{ n: number }>(
    database.db,
    sql`select count(*)::int as n from deals where org_id = ${orgId}`,
  )
  return r!.n
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function runRow(database: Database, runId: string) {
  const [r] = await query<{ status: string; pages: number; records: number; api_calls: number }>(
    database.db,
    sql`select status, pages, records, api_calls from sync_runs where id = ${runId}`,
  )
  return r!
}

describe(`checkpoints, windows and the lease (${testDbKind})`, () => {
  const { database, h, connect } = sandboxSuite({ each: true })

  it('a step budget stops at a checkpoint and the next invocation continues, reading each page once', async () => {
    await connect({ deals: 500 })
    h.sb.resetCalls()
    const first = await runOrgSync(h.ctx, h.orgId, {
      trigger: 'cron',
      historyBudget: 0,
      perPage: 100,
      maxPages: 4,
    })
    expect(first.status).toBe('stopped')
    const second = await runOrgSync(h.ctx, h.orgId, { trigger: 'cron', historyBudget: 0, maxPages: 2 })
    expect(second.runId).toBe(first.runId)
    expect(second.status).toBe('stopped')
    const last = await runOrgSync(h.ctx, h.orgId, { trigger: 'cron', historyBudget: 0 })
    expect(last.runId).toBe(first.runId)
    expect(last.status).toBe('succeeded')
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    expect(crmCalls(h.sb, '/crm/v8/Deals').length).toBe(5)
    expect((await runRow(database, first.runId!)).records).toBe(500)
  })

  it("Zoho's 24-hour credits running out pause the run with what it read kept, and it continues once they come back", async () => {
    await connect({ deals: 500 })
    // Every credit is spent once the second Deals page is in: the next calls answer 429.
    let dealsRead = 0
    const ctx = syncContext(database, h.config, async (input, init) => {
      const res = await globalThis.fetch(input, init)
      if (String(input).includes('/crm/v8/Deals?') && res.ok && ++dealsRead === 2) h.sb.setCreditsLeft(0)
      return res
    })
    h.sb.resetCalls()
    const opts = { trigger: 'cron', historyBudget: 0, perPage: 100 } as const
    const paused = await runOrgSync(ctx, h.orgId, opts)
    expect(paused.status).toBe('stopped')
    expect(paused.error).toMatch(/credits for the last 24 hours are used up/)
    // The run stays open with its reason, and the two pages read are stored.
    const row = await runRow(database, paused.runId!)
    expect(row).toMatchObject({ status: 'running', records: 200 })
    // Every call it made counts, the refused ones too.
    expect(row.api_calls).toBe(crmCalls(h.sb).length)
    expect(await runError(database, paused.runId!)).toMatch(/^Paused: /)
    expect(await dealCount(database, h.orgId)).toBe(200)
    // The lease is free: the next invocation continues the same run, from its checkpoint.
    h.sb.setCreditsLeft(100_000)
    const resumed = await runOrgSync(ctx, h.orgId, opts)
    expect(resumed).toMatchObject({ runId: paused.runId, status: 'succeeded', records: 500 })
    expect(await runError(database, paused.runId!)).toBeNull()
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    // Each page was read once; the only repeats were the 429s.
    const deals = crmCalls(h.sb, '/crm/v8/Deals')
    expect(deals.filter((c) => c.status === 200).length).toBe(5)
    expect(deals.filter((c) => c.status !== 200 && c.status !== 429)).toEqual([])
  })

  it('our hourly call budget running out pauses the run each hour until it is done, reading each page once', async () => {
    await connect({ deals: 500 })
    let clock = Date.now()
    const config = sandboxConfig(h.sb, { API_RATE_LIMIT_PER_HOUR: '10' })
    const ctx = syncContext(database, config, undefined, { now: () => clock })
    h.sb.resetCalls()
    const opts = { trigger: 'cron', historyBudget: 0, perPage: 100 } as const
    const first = await runOrgSync(ctx, h.orgId, opts)
    expect(first.status).toBe('stopped')
    expect(first.error).toMatch(/^Paused: Hourly Zoho API budget of 10 calls is spent/)
    let last = first
    let records = (await runRow(database, first.runId!)).records
    for (let hour = 1; last.status === 'stopped'; hour++) {
      expect(hour).toBeLessThan(10)
      // An hour on (and the minute the last calls were recorded in).
      clock += 3_660_000
      last = await runOrgSync(ctx, h.orgId, opts)
      expect(last.runId).toBe(first.runId)
      // Every hour moves the run on.
      const now = (await runRow(database, first.runId!)).records
      expect(now === 500 || now > records).toBe(true)
      records = now
    }
    expect(last.status).toBe('succeeded')
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    expect(crmCalls(h.sb, '/crm/v8/Deals').map((c) => c.status)).toEqual([200, 200, 200, 200, 200])
  })

  it('the hourly call budget holds across processes: a new one knows the calls the last hour spent', async () => {
    await connect({ deals: 500 })
    const config = sandboxConfig(h.sb, { API_RATE_LIMIT_PER_HOUR: '10' })
    const opts = { trigger: 'cron', historyBudget: 0, perPage: 100 } as const
    // Connecting read the org: that call counts in the hour too.
    const connecting = crmCalls(h.sb).length
    expect(connecting).toBeGreaterThan(0)
    h.sb.resetCalls()
    const first = await runOrgSync(syncContext(database, config), h.orgId, opts)
    expect(first.status).toBe('stopped')
    const spent = crmCalls(h.sb).length
    expect(connecting + spent).toBe(10)
    // Another process (a fresh client: nothing in its memory) spends nothing more this hour.
    h.sb.resetCalls()
    const second = await runOrgSync(syncContext(database, config), h.orgId, opts)
    expect(second).toMatchObject({ runId: first.runId, status: 'stopped' })
    expect(second.error).toMatch(/^Paused: Hourly Zoho API budget of 10 calls is spent/)
    expect(crmCalls(h.sb)).toEqual([])
    // What it knew: the connect's calls and every call of the first run, recorded by minute.
    expect(await recordedZohoCalls(database.db, h.orgId)).toBe(connecting + spent)
  })

  it('a Watch run of a few ids that runs out of credits fails, as nothing would resume it', async () => {
    await connect({ deals: 50 })
    expect((await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })).status).toBe(
      'succeeded',
    )
    h.sb.setCreditsLeft(0)
    const ids = [...h.sb.deals()].slice(0, 3).map((d) => String(d.id))
    h.sb.resetCalls()
    const r = await runOrgSync(h.ctx, h.orgId, { trigger: 'watch', ids, historyBudget: 0 })
    expect(r.status).toBe('failed')
    // Its refused calls count against the hourly budget all the same.
    expect(await runRow(database, r.runId!)).toMatchObject({
      status: 'failed',
      api_calls: crmCalls(h.sb).length,
    })
  })

  it('a process killed mid-page: a fresh engine resumes after the lease expires, nothing lost or doubled', async () => {
    await connect({ deals: 700 })
    // The "dying" engine: its fetch stops answering after the third Deals page was read, before
    // that page is committed, and it never releases its lease.
    let dealsCalls = 0
    const dying: SyncContext = syncContext(database, h.config, async (input, init) => {
      if (String(input).includes('/crm/v8/Deals?') && ++dealsCalls >= 3) {
        await globalThis.fetch(input, init)
        throw new Error('killed')
      }
      return globalThis.fetch(input, init)
    })
    const started = await startSync(dying, h.orgId, {
      trigger: 'cli',
      historyBudget: 0,
      perPage: 100,
      leaseSeconds: 8,
    })
    let steps = 0
    await expect(
      (async () => {
        for (;;) {
          await syncStep(dying, started!.runId, started!.holder, undefined, 8)
          steps++
        }
      })(),
    ).rejects.toThrow()
    expect(steps).toBe(3) // metadata + 2 committed pages
    const before = await runRow(database, started!.runId)
    expect(before).toMatchObject({ status: 'running', pages: 2, records: 200 })

    // While the dead holder's lease is live, nobody else may sync the org.
    const fresh = syncContext(database, h.config)
    expect((await runOrgSync(fresh, h.orgId, { trigger: 'cli' })).status).toBe('busy')
    // Then its lease expires (nobody renews it) and the next invocation takes the run over.
    for (;;) {
      const [l] = await query<{ live: boolean }>(
        database.db,
        sql`select lease_expires_at > now() as live from sync_state where org_id = ${h.orgId}`,
      )
      if (!l!.live) break
      await sleep(200)
    }
    const resumed = await runOrgSync(fresh, h.orgId, { trigger: 'cli' })
    expect(resumed.runId).toBe(started!.runId)
    expect(resumed.status).toBe('succeeded')
    expect(resumed.records).toBe(700)
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    const [dupes] = await query<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from (select deal_id, stage, entered_at from stage_history
          where org_id = ${h.orgId} group by 1, 2, 3 having count(*) > 1) d`,
    )
    expect(dupes!.n).toBe(0)
  })

  it('a lease taken over mid-run: the page still committing is not written, the run is lost, the next one finishes', async () => {
    await connect({ deals: 900 })
    // Pages commit in the background while the next one is fetched and mapped. Another holder takes
    // the lease as the fourth page is fetched: whatever page is committing then must not land.
    let dealsCalls = 0
    const ctx = syncContext(database, h.config, async (input, init) => {
      if (String(input).includes('/crm/v8/Deals?') && ++dealsCalls === 4)
        await database.db.execute(
          sql`update sync_state set lease_owner = 'intruder', lease_expires_at = now() + interval '1 hour'
              where org_id = ${h.orgId}`,
        )
      return globalThis.fetch(input, init)
    })
    const lost = await runOrgSync(ctx, h.orgId, { trigger: 'cli', historyBudget: 0, perPage: 100 })
    expect(lost.status).toBe('lost')
    const [written] = await query<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from deals where org_id = ${h.orgId}`,
    )
    // Every deal written was counted by a committed checkpoint, and none after the takeover.
    expect(written!.n).toBe(lost.records)
    expect(written!.n).toBeLessThan(400)

    await database.db.execute(sql`update sync_state set lease_expires_at = now() - interval '1 second'
                                  where org_id = ${h.orgId}`)
    const next = await runOrgSync(syncContext(database, h.config), h.orgId, {
      trigger: 'cli',
      historyBudget: 0,
    })
    expect(next.runId).toBe(lost.runId)
    expect(next.status).toBe('succeeded')
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
  })

  it('past the page_token cap a new If-Modified-Since window continues; an expired token restarts from the checkpoint', async () => {
    await connect({ deals: 600 })
    h.sb.resetCalls()
    // A tiny window cap stands in for Zoho's 100,000 records a token.
    const first = await runOrgSync(h.ctx, h.orgId, {
      trigger: 'manual',
      historyBudget: 0,
      perPage: 100,
      tokenWindowRecords: 200,
      maxPages: 4,
    })
    expect(first.status).toBe('stopped')
    h.sb.expirePageTokens()
    const rest = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(rest.status).toBe('succeeded')
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    const deals = crmCalls(h.sb, '/crm/v8/Deals')
    expect(deals.some((c) => c.status === 400)).toBe(true) // the expired token
    const windows = deals.filter((c) => c.status === 200 && !c.query.page_token)
    expect(windows.length).toBeGreaterThanOrEqual(3) // 600 records / 200 per window
    expect((await runRow(database, first.runId!)).records).toBe(600)
  })

  it('each page is requested once its predecessor is in, and only if read: across token windows, every Deals call is a page read', async () => {
    await connect({ deals: 1000 })
    h.sb.resetCalls()
    // 100 a page, a new window every 300 records: some next_page_tokens are not followed.
    const res = await runOrgSync(h.ctx, h.orgId, {
      trigger: 'manual',
      historyBudget: 0,
      perPage: 100,
      tokenWindowRecords: 300,
    })
    expect(res.status).toBe('succeeded')
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    const deals = crmCalls(h.sb, '/crm/v8/Deals')
    expect(deals.every((c) => c.status === 200)).toBe(true)
    expect(deals.filter((c) => !c.query.page_token).length).toBeGreaterThanOrEqual(4) // the windows
    // Nothing requested ahead was thrown away: the run read (and counted) every page it asked for.
    expect((await runRow(database, res.runId!)).pages).toBe(deals.length)
  })

  it('two concurrent syncs of one org: one runs, the other is refused', async () => {
    await connect({ deals: 300 })
    const other = syncContext(database, h.config)
    const [a, b] = await Promise.all([
      runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 }),
      runOrgSync(other, h.orgId, { trigger: 'manual', historyBudget: 0 }),
    ])
    expect([a.status, b.status].sort()).toEqual(['busy', 'succeeded'])
    const [runs] = await query<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from sync_runs where org_id = ${h.orgId}`,
    )
    expect(runs!.n).toBe(1)
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
  })
})
