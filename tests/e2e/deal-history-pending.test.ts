import { expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { buildOrg } from '../../api/src/sandbox/org'
import { serverAndBrowser } from './server'
import { apiJson, newWidgetSecret, norm, signIn, syncNow, waitForSync } from './helpers'
import { crmUser, openDealInCrm } from './crm-standin'

/*
 * The demo org has 2,000 deals, and here its first sync reads the Stage_History of at most 100 of
 * them (DEMO_HISTORY_CALLS, as a real org's syncs do), newest modified first: after it, the open
 * deal modified longest ago has no history read yet.
 * Its Deal page inside Zoho CRM says the history is still to come, not that the deal never changed
 * stage, and qualifies its days in stage, counted from its creation until then. The Risk view and
 * a Deal page's risk flags say "up to N days" for a deal stuck on such a count, and why. The Sync
 * page says how far the backfill has come. Last, Zoho starts refusing the org's Stage_History (as
 * for a list hidden in the org): after the next sync, pages say it is unavailable, not coming.
 */

const { server, newContext, sandboxUrl } = serverAndBrowser(
  { DEMO_HISTORY_CALLS: '100' },
  { demoSandbox: true },
)

interface RiskDeal {
  id: string
  stage: string
  daysInStage: number
  daysInStageUpTo: boolean
  reasons: { code: string; message: string; provisional: boolean }[]
}

/** An admin signed in to the web view once the first sync has succeeded. */
async function adminPage(): Promise<Page> {
  const admin = await signIn(await newContext(), server.url, 'admin')
  await waitForSync(admin)
  return admin
}

/** The deal's page in the Zoho CRM stand-in, as the org's admin sees it, once it has loaded. */
async function dealPage(admin: Page, dealId: string) {
  const orgId = (await apiJson<{ org: { id: string } }>(admin, '/api/v1/me')).org.id
  const secret = await newWidgetSecret(admin)
  const user = buildOrg(42, 'USD').users.admin
  const ctx = await newContext()
  const { w } = await openDealInCrm(ctx, server.url, {
    secret,
    orgId,
    user: crmUser(user),
    dealId: dealId,
  })
  return w
}

it('says a deal whose stage history is not read yet is waiting for it, not that it has none', async () => {
  const admin = await adminPage()
  const {
    deals: [oldest],
  } = await apiJson<{ deals: { id: string; stage: string }[] }>(
    admin,
    '/api/v1/deals?state=open&sort=modified&dir=asc&limit=1',
  )
  expect(oldest).toBeTruthy()
  const detail = await apiJson<{ stageHistory: unknown[] }>(admin, `/api/v1/deals/${oldest!.id}`)
  expect(detail.stageHistory).toEqual([])

  const w = await dealPage(admin, oldest!.id)
  expect(norm(await w.getByRole('region', { name: 'Stage history' }).textContent())).toContain(
    "This deal's stage history has not been read from Zoho CRM yet: it arrives with the coming syncs.",
  )
  expect(norm(await w.getByTestId('deal-view').textContent())).not.toContain('No stage changes recorded.')

  // The days count from the deal's creation: an upper bound, said so.
  const days = norm(await w.getByTestId('deal-days').textContent())
  expect(days).toMatch(/^up to [\d,.]+ days? in /)
  expect(days).toContain(` in ${oldest!.stage} so far.`)
  expect(norm(await w.getByTestId('deal-days-provisional').textContent())).toBe(
    `Counted from when the deal was created, until its stage history from Zoho CRM says when it entered ${oldest!.stage}.`,
  )
})

it('flags a deal stuck on days counted from its creation as "up to N days", on the Risk view and its Deal page', async () => {
  const admin = await adminPage()
  const risk = await apiJson<{ counts: { stuck: number; stuckUpTo: number }; deals: RiskDeal[] }>(
    admin,
    '/api/v1/risk?reason=stuck',
  )
  expect(risk.counts.stuckUpTo).toBeGreaterThan(0)
  // The Risk view lists the 25 largest first, as the API does: one of them is stuck provisionally.
  const shown = risk.deals.slice(0, 25)
  const index = shown.findIndex((d) => d.daysInStageUpTo)
  expect(index).toBeGreaterThanOrEqual(0)
  const deal = shown[index]!
  const wording = new RegExp(`^stuck up to ${deal.daysInStage} days in ${deal.stage} \\(history pending\\)$`)

  await admin.goto(`${server.url}/?view=risk&reason=stuck`)
  const rows = admin.getByTestId('risk-table').locator('tbody tr')
  await expect.poll(() => rows.count(), { timeout: 60_000 }).toBe(shown.length)
  expect(norm(await admin.getByTestId('risk-counts').textContent())).toContain(
    `${risk.counts.stuck} stuck (${risk.counts.stuckUpTo} of them provisional: stage history not read),`,
  )
  const row = rows.nth(index)
  expect(norm(await row.locator('td').nth(4).textContent())).toBe(`up to ${deal.daysInStage}`)
  const why = (await row.locator('.reasons > div').allTextContents()).map(norm)
  expect(why.filter((t) => t.startsWith('stuck'))).toEqual([expect.stringMatching(wording)])

  const w = await dealPage(admin, deal.id)
  const flags = w.getByTestId('deal-risks')
  await flags.waitFor({ timeout: 60_000 })
  const flagged = (await flags.locator('li').allTextContents()).map(norm)
  expect(flagged.filter((t) => t.startsWith('stuck'))).toEqual([expect.stringMatching(wording)])
})

it('the Sync page says how many deals still wait for their stage history, and how many syncs that takes', async () => {
  const admin = await adminPage()
  const h = await apiJson<{ read: number; toRead: number; perSync: number }>(
    admin,
    '/api/v1/sync/stage-history',
  )
  // The first sync read 100 of the 2,000 deals' histories; many open ones wait.
  expect(h.read).toBeGreaterThan(0)
  expect(h.toRead).toBeGreaterThan(h.perSync)
  const n = (x: number) => x.toLocaleString('en-US')
  await admin.goto(`${server.url}/?view=sync`)
  const line = admin.getByTestId('stage-history-progress')
  await line.waitFor({ timeout: 60_000 })
  expect(norm(await line.textContent())).toBe(
    `Stage history read from Zoho CRM for ${n(h.read)} deals, ${n(h.toRead)} still to read ` +
      `(${h.perSync} per sync: about ${Math.ceil(h.toRead / h.perSync)} more syncs). ` +
      'Until then their days in stage are estimates.',
  )
})

it('says the stage history is unavailable, not coming, once Zoho CRM refuses it: on a Deal page and the Sync page', async () => {
  const admin = await adminPage()
  const refuse = await fetch(`${sandboxUrl()}/stage-history`, {
    method: 'PUT',
    body: JSON.stringify({ refuse: true }),
  })
  expect(refuse.status).toBe(200)
  await syncNow(admin)
  const {
    deals: [oldest],
  } = await apiJson<{ deals: { id: string; stage: string }[] }>(
    admin,
    '/api/v1/deals?state=open&sort=modified&dir=asc&limit=1',
  )
  const w = await dealPage(admin, oldest!.id)
  const history = w.getByRole('region', { name: 'Stage history' })
  await history.waitFor({ timeout: 60_000 })
  expect(norm(await history.textContent())).toContain(
    "Zoho CRM does not give this org's stage history (its Stage History list may be hidden or not permitted), " +
      'so no stage change of this deal is known: our sync has seen none.',
  )
  expect(norm(await w.getByTestId('deal-view').textContent())).not.toContain('arrives with the coming syncs')
  expect(norm(await w.getByTestId('deal-days-provisional').textContent())).toBe(
    `Counted from when the deal was created: Zoho CRM does not give this org's stage history, which would say when it entered ${oldest!.stage}.`,
  )

  await admin.goto(`${server.url}/?view=sync`)
  const line = admin.getByTestId('stage-history-progress')
  await line.waitFor({ timeout: 60_000 })
  expect(norm(await line.textContent())).toBe(
    "Stage history: Zoho CRM does not give this org's stage history, so days in stage count from when " +
      'each deal was created or when our sync saw it change stage.',
  )
})
