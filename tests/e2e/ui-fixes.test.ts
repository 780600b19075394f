import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { formatMoney } from '../../shared/money'
import { buildOrg } from '../../api/src/sandbox/org'
import { signWidgetAssertion } from '../../api/src/auth/widget-assertion'
import { serverAndBrowser } from './server'
import {
  apiJson,
  createSandboxDeal,
  newWidgetSecret,
  norm,
  settled,
  signIn,
  syncNow,
  waitForSync,
} from './helpers'
import { crmUser, type CrmUser, installCrmStandIn, openDealInCrm, WIDGET_ORIGIN } from './crm-standin'

/*
 * Regressions from the UI review: request-slot collisions between unrelated components, the widget
 * never re-authenticating after a 401, and amounts hard-labelled SGD. The org's base currency is USD
 * here, so an "SGD" label on a base-currency amount is visibly wrong.
 */

const { server, newContext, sandboxUrl } = serverAndBrowser({ BASE_CURRENCY: 'USD' }, { demoSandbox: true })
let manager: Page

beforeAll(async () => {
  manager = await signIn(await newContext(), server.url, 'manager')
  await waitForSync(manager)
})

const money = (amount: string, currency: string) => norm(formatMoney(amount, currency, 'en'))

describe('requests of unrelated components do not cancel each other', () => {
  it('fills the Owner filter on the Leaderboard (both load by-owner)', async () => {
    const { owners } = await apiJson<{ owners: unknown[] }>(manager, '/api/v1/pipeline/by-owner')
    expect(owners.length).toBeGreaterThan(1)
    await manager.goto(`${server.url}/?view=leaderboard`)
    await manager.getByTestId('leaderboard').locator('tbody tr').first().waitFor()
    await settled(manager)
    // "Everyone I can see" plus one option per owner.
    await expect.poll(() => manager.locator('select[name=owner] option').count()).toBeGreaterThan(1)
  })

  it('keeps the freshness badge on the Sync view (both load sync/status) when the status is slow', async () => {
    const page = await (await newContext()).newPage()
    await page.context().addCookies(await manager.context().cookies())
    await page.route('**/api/v1/sync/status*', async (r) => {
      await new Promise((res) => setTimeout(res, 700))
      await r.continue().catch(() => {})
    })
    await page.goto(`${server.url}/?view=sync`)
    await page.getByTestId('freshness').waitFor({ timeout: 15_000 })
    await expect.poll(() => page.getByTestId('zoho-calls').count(), { timeout: 15_000 }).toBe(1)
  })

  it('still aborts a fetch its own component superseded', async () => {
    const page = await (await newContext()).newPage()
    await page.context().addCookies(await manager.context().cookies())
    const aborted: string[] = []
    page.on('requestfailed', (r) => {
      if (r.url().includes('/api/v1/pipeline/summary')) aborted.push(r.url())
    })
    await page.goto(`${server.url}/?view=overview`)
    await page.getByTestId('open-amount').waitFor()
    await settled(page)
    // Hold the summaries so the first is still in flight when the filter changes.
    await page.route('**/api/v1/pipeline/summary*', async (r) => {
      await new Promise((res) => setTimeout(res, 1500))
      await r.continue().catch(() => {})
    })
    await page.getByRole('button', { name: 'This year' }).click()
    await page.waitForTimeout(200)
    await page.getByRole('button', { name: 'Last quarter' }).click()
    await expect.poll(() => aborted.length, { timeout: 10_000 }).toBeGreaterThan(0)
    expect(aborted.some((u) => new URL(u).searchParams.get('from')?.endsWith('-01-01'))).toBe(true)
  })
})

describe('stale and at-risk list', () => {
  it('counts every deal at risk and reaches past the first 200 with Show more', async () => {
    // The demo org gives a manager's team fewer than 225 deals at risk: one of its owners gets 240
    // more in Zoho CRM, overdue, before a sync.
    const { owners } = await apiJson<{ owners: { ownerId: string }[] }>(manager, '/api/v1/pipeline/by-owner')
    const overdue = { Owner: owners[0]!.ownerId, Stage: 'Qualification', Closing_Date: '2025-01-06' }
    for (let i = 0; i < 240; i += 40)
      await Promise.all(
        Array.from({ length: 40 }, (_, k) =>
          createSandboxDeal(sandboxUrl(), {
            ...overdue,
            Deal_Name: `Overdue ${i + k}`,
            Amount: 1000 + i + k,
          }),
        ),
      )
    await syncNow(await signIn(await newContext(), server.url, 'admin'))
    const risk = await apiJson<{ counts: { total: number }; deals: { id: string }[] }>(
      manager,
      '/api/v1/risk?limit=1000',
    )
    expect(risk.counts.total).toBeGreaterThan(225)
    await manager.goto(`${server.url}/?view=risk`)
    const rows = manager.getByTestId('risk-table').locator('tbody tr')
    await expect.poll(() => rows.count()).toBe(25)
    const total = risk.counts.total.toLocaleString('en')
    expect(norm(await manager.getByTestId('risk-shown').textContent())).toBe(
      `Showing 25 of ${total}, largest first`,
    )
    const more = manager.getByRole('button', { name: 'Show more' })
    await more.click()
    await expect.poll(() => rows.count()).toBe(125)
    await more.click()
    // Past the 200 the first request listed: the list asks for more, in the same order.
    await expect.poll(() => rows.count()).toBe(225)
    expect(norm(await manager.getByTestId('risk-shown').textContent())).toBe(
      `Showing 225 of ${total}, largest first`,
    )
    const shownNames = await rows.evaluateAll((trs) =>
      trs.map((tr) => tr.querySelector('a')?.textContent ?? ''),
    )
    expect(shownNames[224]).toBe(
      (await apiJson<{ deals: { name: string }[] }>(manager, '/api/v1/risk?limit=1000')).deals[224]!.name,
    )
  })
})

describe('amounts in the org base currency (USD)', () => {
  it('labels and formats the Deals list in the base currency the API reports', async () => {
    const d = await apiJson<{ baseCurrency: string; deals: { amountSgd: string | null }[] }>(
      manager,
      '/api/v1/deals?limit=1&sort=amount&dir=desc',
    )
    expect(d.baseCurrency).toBe('USD')
    await manager.goto(`${server.url}/?view=deals&sort=amount&dir=desc`)
    await manager.getByTestId('deals-table').waitFor()
    const header = norm(await manager.locator('[data-testid=deals-table] thead').textContent())
    expect(header).toContain('Amount (USD)')
    expect(header).not.toContain('SGD')
    const row = norm(await manager.locator('[data-testid=deals-table] tbody tr').first().textContent())
    expect(row).toContain(money(d.deals[0]!.amountSgd!, 'USD'))
  })

  it('labels the report in the base currency', async () => {
    await manager.goto(`${server.url}/?view=report`)
    await settled(manager)
    await expect
      .poll(async () => norm(await manager.locator('article.report header').textContent()))
      .toContain('amounts in USD')
    const text = norm(await manager.locator('article.report').textContent())
    expect(text).not.toContain('amounts in SGD')
    const topHeader = norm(
      await manager.getByRole('region', { name: 'Top open deals' }).locator('thead').textContent(),
    )
    expect(topHeader).toContain('USD')
    expect(topHeader).not.toContain('SGD')
  })
})

describe('admin settings: widget sign-in', () => {
  it('shows the org id /api/v1/me reports beside the secret, and the two sign the widget in', async () => {
    const admin = await signIn(await newContext(), server.url, 'admin')
    const orgId = (await apiJson<{ org: { id: string } }>(admin, '/api/v1/me')).org.id
    await admin.goto(`${server.url}/?view=settings`)
    const card = admin.getByRole('region', { name: 'Widget sign-in' })
    // Already before a secret is generated: the admin may only need to re-enter the org id.
    expect(await card.getByTestId('widget-org-id').inputValue({ timeout: 30_000 })).toBe(orgId)
    admin.once('dialog', (d) => void d.accept()) // "the current secret stops working": yes
    await card.getByRole('button', { name: 'Generate new secret' }).click()
    const secret = await card.getByTestId('widget-secret').inputValue({ timeout: 30_000 })
    expect(secret).toMatch(/^[0-9a-f]{64}$/)
    const shownOrgId = await card.getByTestId('widget-org-id').inputValue()
    expect(shownOrgId).toBe(orgId)
    // What the Deluge function signs with the two pasted values is accepted.
    const zuid = buildOrg(42, 'USD').users.admin.zuid
    const assertion = await signWidgetAssertion(secret, {
      zuid,
      orgId: shownOrgId,
      iat: Math.floor(Date.now() / 1000),
      nonce: randomUUID(),
    })
    const token = await apiJson<{ user: { orgId: string } }>(admin, '/api/v1/auth/widget', {
      method: 'POST',
      body: assertion,
    })
    expect(token.user.orgId).toBe(orgId)
  })
})

describe('widget inside Zoho CRM', () => {
  let secret: string
  let orgId: string
  let rep: CrmUser
  let deal: { id: string; amountSgd: string; baseCurrency: string; currency: string }

  beforeAll(async () => {
    const admin = await signIn(await newContext(), server.url, 'admin')
    orgId = (await apiJson<{ org: { id: string } }>(admin, '/api/v1/me')).org.id
    secret = await newWidgetSecret(admin)
    const { users } = await apiJson<{ users: { userId: string; role: string }[] }>(
      admin,
      '/api/v1/admin/users',
    )
    const crmUsers = new Map(buildOrg(42, 'USD').users.all.map((u) => [u.id, u]))
    for (const u of users.filter((x) => x.role === 'rep')) {
      const crm = crmUsers.get(u.userId)
      if (!crm) continue
      const d = await apiJson<{ deals: { id: string; currency: string; amountSgd: string | null }[] }>(
        admin,
        `/api/v1/deals?owner=${u.userId}&state=open&limit=10&sort=amount&dir=desc`,
      )
      // A deal in another currency than the base, so the rate line names both.
      const pick = d.deals.find((x) => x.currency !== 'USD' && x.amountSgd)
      if (!pick) continue
      rep = crmUser(crm)
      deal = await apiJson(admin, `/api/v1/deals/${pick.id}`)
      break
    }
    expect(deal).toBeTruthy()
  })

  it("shows a Deal's value in the base currency", async () => {
    expect(deal.baseCurrency).toBe('USD')
    const ctx = await newContext()
    const { w } = await openDealInCrm(ctx, server.url, {
      secret,
      orgId,
      user: rep,
      dealId: deal.id,
    })
    expect(norm(await w.getByTestId('deal-sgd').locator('.label').textContent())).toBe('Value in USD')
    expect(norm(await w.getByTestId('deal-sgd').locator('.value').textContent())).toBe(
      money(deal.amountSgd, 'USD'),
    )
    expect(norm(await w.getByTestId('deal-fx').textContent())).toMatch(
      new RegExp(`1 ${deal.currency} = [\\d.]+ USD`),
    )
  })

  it('signs in again once on a 401 and carries on, however many requests got it', async () => {
    const ctx = await newContext()
    const crmUrl = await installCrmStandIn(ctx, server.url, { secret, orgId, user: rep, pageLoad: null })
    let revoked: string | null = null
    let lastAuth: string | null = null
    let exchanges = 0
    let rejected = 0
    await ctx.route(`${WIDGET_ORIGIN}/api/v1/**`, async (route) => {
      const req = route.request()
      if (req.url().includes('/api/v1/auth/widget')) exchanges++
      const auth = req.headers()['authorization']
      if (auth) lastAuth = auth
      // The server no longer accepts the token the widget holds (as when it has expired).
      if (revoked && auth === revoked) {
        rejected++
        return route.fulfill({
          status: 401,
          contentType: 'application/json',
          body: JSON.stringify({ error: { code: 'UNAUTHENTICATED', message: 'Token expired' } }),
        })
      }
      return route.fallback()
    })
    const page = await ctx.newPage()
    await page.goto(crmUrl)
    const w = page.frameLocator('#w')
    await w.getByTestId('open-amount').waitFor({ timeout: 60_000 })
    await settled(page)
    expect(exchanges).toBe(1)
    revoked = lastAuth
    // By stage loads several resources at once (table, owner filter, freshness): those that leave
    // before the new sign-in get a 401 (how many depends on timing; the unit test of api.ts covers
    // a 401 that returns after the sign-in).
    await w.getByRole('link', { name: 'By stage' }).click()
    await w.getByTestId('stages-table').waitFor({ timeout: 30_000 })
    await settled(page)
    expect(rejected).toBeGreaterThanOrEqual(1)
    expect(exchanges).toBe(2) // one shared sign-in for all of them
    expect(await w.locator('main .state.error').count()).toBe(0)
  })
})
