import { beforeEach, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query } from '../../api/src/db/client'
import { holdPage } from '../../api/src/sync/held-pages'
import type { DealRow } from '../../api/src/sync/map'
import { runOrgSync } from '../../api/src/sync/run'
import type { SyncContext } from '../../api/src/sync/session'
import { testDbKind } from '../helpers/db'
import { crmCalls, sandboxSuite, syncContext, truth } from './setup'

/*
 * When the database is the slower side, Deals pages read while the previous page commits wait in
 * memory and go in with the next commit. A trigger makes every page commit take 100 ms, far longer
 * than reading a page from the sandbox. On PostgreSQL the commit runs in another process, so pages
 * wait; PGlite runs in this thread and mostly ends a commit before the next page is read. Either
 * way the database must end equal to Zoho, each record counted once.
 */
describe(`pages held back while the database is slower (${testDbKind})`, () => {
  const { database, h, connect } = sandboxSuite({ each: true })
  beforeEach(async () => {
    await database.db.execute(sql`create table page_commits (at timestamptz default clock_timestamp())`)
    // Which page commit attempt fails once (none unless a test sets it); a sequence, as a failed
    // attempt rolls back everything else it wrote.
    await database.db.execute(sql`create table page_fault (attempt int)`)
    await database.db.execute(sql`create sequence page_commit_attempts`)
    await database.db.execute(sql`
      create function slow_page_commit() returns trigger language plpgsql as $$
      begin
        perform pg_sleep(0.1);
        if nextval('page_commit_attempts') = (select attempt from page_fault) then
          raise exception 'injected serialization failure' using errcode = '40001';
        end if;
        insert into page_commits default values;
        return new;
      end $$`)
    await database.db.execute(sql`
      create trigger slow_page_commit before update on sync_runs for each row
      when (new.pages is distinct from old.pages) execute function slow_page_commit()`)
  })

  const pageCommits = async () =>
    (await query<{ n: number }>(database.db, sql`select count(*)::int as n from page_commits`))[0]!.n
  const runRow = async (runId: string) =>
    (
      await query<{ pages: number; records: number; read: number }>(
        database.db,
        sql`select pages, records, records_read as read from sync_runs where id = ${runId}`,
      )
    )[0]!

  /**
   * A sync context whose fetch (the network edge) counts Deals requests and lets `onDeals` act on
   * the nth one: change the sandbox before it goes out, or fail it with a network error.
   */
  function dealsCountingContext(onDeals: (n: number) => Error | void) {
    const seen = { deals: 0 }
    const ctx = syncContext(database, h.config, (input, init) => {
      if (String(input).includes('/crm/v8/Deals?')) {
        const failure = onDeals(++seen.deals)
        if (failure) return Promise.reject(failure)
      }
      return globalThis.fetch(input, init)
    })
    return { ctx, seen }
  }
  const fullSync = (ctx: SyncContext) =>
    runOrgSync(ctx, h.orgId, { trigger: 'manual', historyBudget: 0, perPage: 50 })

  it('go in several per statement: the database equals Zoho, every page read and counted once', async () => {
    await connect({ deals: 600 })
    h.sb.resetCalls()
    const run = await fullSync(h.ctx)
    expect(run.status, run.error).toBe('succeeded')
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    expect(crmCalls(h.sb, '/crm/v8/Deals').length).toBe(12)
    expect(await runRow(run.runId!)).toEqual({ pages: 12, records: 600, read: 600 })
    const commits = await pageCommits()
    if (testDbKind === 'postgres') expect(commits).toBeLessThan(12)
    else expect(commits).toBeLessThanOrEqual(12)
  })

  it('a page token refused while pages wait: they go in with the new window, nothing lost', async () => {
    await connect({ deals: 600 })
    // The fourth Deals request goes out with a token Zoho no longer takes.
    const { ctx } = dealsCountingContext((n) => {
      if (n === 4) h.sb.expirePageTokens()
    })
    h.sb.resetCalls()
    const run = await fullSync(ctx)
    expect(run.status, run.error).toBe('succeeded')
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    const deals = crmCalls(h.sb, '/crm/v8/Deals')
    expect(deals.some((c) => c.status === 400)).toBe(true)
    expect((await runRow(run.runId!)).records).toBe(600)
    if (testDbKind === 'postgres')
      expect(await pageCommits()).toBeLessThan(deals.filter((c) => c.status === 200).length)
  })

  it('a page commit failing while pages wait: the step is retried from the stored checkpoint, nothing lost or doubled', async () => {
    await connect({ deals: 2000 })
    await database.db.execute(sql`insert into page_fault values (2)`)
    h.sb.resetCalls()
    const run = await fullSync(h.ctx)
    expect(run.status, run.error).toBe('succeeded')
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    // Pages read again after the failure (those of the failed commit and those waiting behind it)
    // count once, like every other page.
    expect(await runRow(run.runId!)).toEqual({ pages: 40, records: 2000, read: 2000 })
    expect(crmCalls(h.sb, '/crm/v8/Deals').length).toBeGreaterThan(40)
  })

  it('Zoho unreachable while pages wait: the step is retried from the stored checkpoint, nothing lost or doubled', async () => {
    await connect({ deals: 600 })
    // Deals requests 6 to 9 fail at the network: more than the client's three retries, so the
    // step fails and the run retries it from the stored checkpoint (the waiting pages are dropped).
    const { ctx, seen } = dealsCountingContext((n) =>
      n >= 6 && n <= 9 ? new TypeError('fetch failed') : undefined,
    )
    h.sb.resetCalls()
    const run = await fullSync(ctx)
    expect(run.status, run.error).toBe('succeeded')
    const t = await truth(h, database)
    expect(t.equal, t.diff).toBe(true)
    expect(seen.deals).toBeGreaterThan(12)
    expect(await runRow(run.runId!)).toEqual({ pages: 12, records: 600, read: 600 })
  })

  it('the latest rate set refreshed while pages wait: they are priced with it, as stored open deals are', async () => {
    await connect({ deals: 600 })
    // From the fifth Deals request on, the clock reads 30 days later: the latest set is due again.
    const later = Date.now() + 30 * 86_400_000
    const { ctx, seen } = dealsCountingContext(() => undefined)
    const run = await fullSync({ ...ctx, now: () => new Date(seen.deals >= 5 ? later : Date.now()) })
    expect(run.status, run.error).toBe('succeeded')
    const sets = await query<{ week_date: string }>(
      database.db,
      sql`select week_date::text from fx_rate_sets order by week_date`,
    )
    expect(sets.length).toBeGreaterThan(1)
    const open = await query<{ fx_date: string; n: number }>(
      database.db,
      sql`select fx_date::text, count(*)::int as n from deals
          where org_id = ${h.orgId} and state = 'open' and fx_date is not null group by 1`,
    )
    expect(open).toEqual([{ fx_date: sets.at(-1)!.week_date, n: expect.any(Number) }])
  })
})

describe('holding pages', () => {
  const row = (id: string, modified: string) => ({ id, modified_time: modified }) as DealRow

  it('a held deal that comes again, edited, keeps its newest copy and says where the list shifted', () => {
    const first = holdPage(
      undefined,
      [row('1', '2026-11-02T09:00:00+08:00'), row('2', '2026-11-02T10:00:00+08:00')],
      null,
    )
    expect(first.shifted).toBeUndefined()
    const second = holdPage(first, [row('3', '2026-11-02T03:00:00Z'), row('2', '2026-11-02T04:00:00Z')], null)
    // Deal 2 was read at 10:00 +08:00 and comes again at 12:00 +08:00: it moved to the end of the list.
    expect(second.shifted).toBe('2026-11-02T10:00:00+08:00')
    expect(second.rows.map((r) => [r.id, r.modified_time])).toEqual([
      ['1', '2026-11-02T09:00:00+08:00'],
      ['2', '2026-11-02T04:00:00Z'],
      ['3', '2026-11-02T03:00:00Z'],
    ])
    expect(second.pages).toBe(2)
    // The same copy again (another token window's overlap) is no shift.
    expect(holdPage(first, [row('1', '2026-11-02T01:00:00Z')], null).shifted).toBeUndefined()
  })
})
