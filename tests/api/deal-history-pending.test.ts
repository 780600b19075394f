import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { serve, type ServerType } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dealDetail, type DealDetail } from '#shared/contracts/deals'
import type { Database } from '../../api/src/db/client'
import { runOrgSync } from '../../api/src/sync/run'
import { createTestApp } from '../helpers/app'
import { asUser } from '../helpers/auth'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { connectSandbox, type Harness } from '../sync/setup'

/*
 * GET /deals/:id says whether the deal's Stage_History is still to be read from Zoho CRM: after a
 * sync that read no history, an open deal and one won 10 days ago have theirs pending (the page must
 * not say they never changed stage); once the backfill has read them, they do not. A deal lost 400
 * days ago is never backfilled, so nothing is pending for it.
 */

const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10)

describe(`deal detail: stage history still to be read (${testDbKind})`, () => {
  let database: Database
  let h: Harness
  let server: ServerType | undefined
  let base: string
  let headers: Record<string, string>
  const ids = { open: '', wonRecently: '', lostLongAgo: '' }

  const deal = async (id: string): Promise<DealDetail> => {
    const res = await fetch(`${base}/api/v1/deals/${id}`, { headers })
    expect(res.status).toBe(200)
    return dealDetail.parse(await res.json())
  }
  const sync = async (historyBudget: number) => {
    const run = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget })
    expect(run.status, run.error).toBe('succeeded')
  }

  beforeAll(async () => {
    database = await createTestDatabase()
    h = await connectSandbox(database, { deals: 20 })
    ids.open = h.sb.createDeal({ Deal_Name: 'Open deal', Stage: 'Qualification' })
    ids.wonRecently = h.sb.createDeal({
      Deal_Name: 'Won lately',
      Stage: 'Closed Won',
      Closing_Date: daysAgo(10),
    })
    ids.lostLongAgo = h.sb.createDeal({
      Deal_Name: 'Lost long ago',
      Stage: 'Closed Lost',
      Closing_Date: daysAgo(400),
    })
    // The deals, their users and stages, but no Stage_History yet.
    await sync(0)
    const app = createTestApp(database)
    headers = await asUser(app.config, h.orgId, h.sb.users.admin.id)
    base = await new Promise<string>((resolve) => {
      server = serve({ fetch: app.app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
        resolve(`http://127.0.0.1:${info.port}`),
      )
    })
  })
  afterAll(async () => {
    const http = server as Server | undefined
    if (http) {
      http.closeAllConnections()
      await new Promise((r) => http.close(r))
    }
    await h?.close()
    await database?.close()
  })

  it('says the history is pending for open and recently closed deals not backfilled yet', async () => {
    const open = await deal(ids.open)
    expect(open).toMatchObject({
      stage: 'Qualification',
      state: 'open',
      stageHistory: [],
      historyPending: true,
    })
    expect(await deal(ids.wonRecently)).toMatchObject({ state: 'won', historyPending: true })
  })

  it('never for a deal closed long ago, whose history the backfill does not read', async () => {
    expect(await deal(ids.lostLongAgo)).toMatchObject({
      state: 'lost',
      stageHistory: [],
      historyPending: false,
    })
  })

  it('still, after our sync saw the deal change stage: the change is listed, the history from Zoho is not', async () => {
    h.sb.editDeal(ids.open, { Stage: 'Needs Analysis' })
    await sync(0)
    expect(await deal(ids.open)).toMatchObject({
      stage: 'Needs Analysis',
      stageHistory: [{ stage: 'Needs Analysis', source: 'sync' }],
      historyPending: true,
    })
  })

  it('no longer once the backfill has read it: its stage history is there', async () => {
    await sync(1000)
    const open = await deal(ids.open)
    expect(open.historyPending).toBe(false)
    // Zoho's rows, both stages (the sandbox may write them in the same second: in either order).
    expect(open.stageHistory.map((x) => `${x.stage} ${x.source}`).sort()).toEqual([
      'Needs Analysis zoho',
      'Qualification zoho',
    ])
    expect((await deal(ids.wonRecently)).historyPending).toBe(false)
    expect(await deal(ids.lostLongAgo)).toMatchObject({ stageHistory: [], historyPending: false })
  })
})
