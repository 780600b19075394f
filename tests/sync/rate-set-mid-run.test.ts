import { describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query } from '../../api/src/db/client'
import { runFx } from '../../api/src/fx/job'
import { refreshLatest } from '../../api/src/fx/store'
import { syncStep } from '../../api/src/sync/engine'
import { runOrgSync } from '../../api/src/sync/run'
import { SyncSession, type SyncContext } from '../../api/src/sync/session'
import { startSync } from '../../api/src/sync/start'
import { testDbKind } from '../helpers/db'
import { sandboxSuite } from './setup'

const DAY = 86_400_000

describe(`rate sets and the sync (${testDbKind})`, () => {
  const { database, h } = sandboxSuite({ sandbox: { deals: 600, fxPlan: 'paid' } })

  it('a set stored by the fx job mid-run reaches the open deals the run writes after it', async () => {
    // The sync runs "last week" with last week's set, fresh to it; the fx job stores this week's
    // set between two of its pages and re-prices what is stored by then.
    const lastWeek = new Date(Date.now() - 8 * DAY)
    const ctx: SyncContext = { ...h.ctx, now: () => lastWeek }
    const old = await refreshLatest(ctx)
    const started = await startSync(ctx, h.orgId, { trigger: 'manual', historyBudget: 0, perPage: 100 })
    const session = new SyncSession()
    let fresh: string | null = null
    let pages = 0
    for (;;) {
      const step = await syncStep(ctx, started!.runId, started!.holder, session)
      if (step.done) break
      if (step.phase === 'deals' && ++pages === 2) {
        await runFx(h.ctx)
        fresh = (await refreshLatest(h.ctx)).weekDate
      }
    }
    expect(fresh).not.toBe(old.weekDate)
    const rows = await query<{ fx_date: string; n: number }>(
      database.db,
      sql`select fx_date::text, count(*)::int as n from deals
          where org_id = ${h.orgId} and state = 'open' and currency <> 'SGD' group by 1`,
    )
    expect(rows).toEqual([{ fx_date: fresh, n: expect.any(Number) }])
  })
})

describe(`historical rate sets for an org whose home currency is SGD (${testDbKind})`, () => {
  const { database, h } = sandboxSuite({
    sandbox: { deals: 400, homeCurrency: 'SGD', fxPlan: 'paid', seed: 7 },
  })

  it('fetches no set that only deals in the base currency would use: they convert at 1', async () => {
    const run = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(run.status).toBe('succeeded')
    const rows = await query<{ week: string; others: number }>(
      database.db,
      sql`select s.week_date::text as week,
            (select count(*) from deals d where d.org_id = ${h.orgId} and d.state in ('won', 'lost')
               and d.currency <> 'SGD' and date_trunc('week', d.closing_date)::date = s.week_date)::int as others
          from fx_rate_sets s where s.kind = 'historical'`,
    )
    expect(rows.length).toBeGreaterThan(0)
    expect(rows.filter((r) => r.others === 0)).toEqual([])
  })
})
