import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { takeSnapshot } from '../../api/src/analytics/snapshot'
import { connectPglite } from '../../api/src/db/pglite'
import { buildOrg } from '../../api/src/sandbox/org'
import { days } from '../../widget/src/format'
import { crmUser, installCrmStandIn } from './crm-standin'
import { apiJson, newWidgetSecret, norm, settled, signIn, waitForSync } from './helpers'
import { launchBrowser, startServer, type RunningServer } from './server'

/*
 * Leftovers of the UI review: "1 day" not "1 days", the Deal page's 12 months counted from the org's
 * today, risk reasons with dates as the columns show them, Risk's "Show more" kept on reload, a Deals
 * search that Back undoes, and the Waterfall's closing window shown when the API picks it.
 */

let server: RunningServer
let browser: Browser
const contexts: BrowserContext[] = []
let manager: Page
let admin: Page
let today: string
let orgId: string
const dataDir = mkdtempSync(join(tmpdir(), 'pp-e2e-leftovers-'))

interface Me {
  org: { id: string; today: string }
}

beforeAll(async () => {
  browser = await launchBrowser()
  // First run: the demo sync. Then, with the server stopped, a daily snapshot of the org's today (the
  // Waterfall answers only from snapshots, and the hourly job takes the first one after midnight).
  server = await startServer({ DATA_DIR: dataDir })
  const first = await signIn(await newContext(), server.url, 'admin')
  await waitForSync(first)
  const me = await apiJson<Me>(first, '/api/v1/me')
  ;({ id: orgId, today } = me.org)
  await server.stop()
  const database = await connectPglite(dataDir)
  try {
    await takeSnapshot(database.db, orgId, today)
  } finally {
    await database.close()
  }
  server = await startServer({ DATA_DIR: dataDir })
  admin = await signIn(await newContext(), server.url, 'admin')
  manager = await signIn(await newContext(), server.url, 'manager')
  await waitForSync(manager)
})
afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {})
  await browser?.close()
  await server?.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

async function newContext(options: { timezoneId?: string } = {}) {
  const c = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options })
  contexts.push(c)
  return c
}

/** A page in its own context with the manager's session. */
async function managerPage(): Promise<Page> {
  const ctx = await newContext()
  await ctx.addCookies(await manager.context().cookies())
  return ctx.newPage()
}

const ISO_DATE = /\b\d{4}-\d{2}-\d{2}\b/
/** "26 Feb 2026", as the columns show a date. */
const shown = (iso: string) =>
  new Date(`${iso}T00:00:00Z`).toLocaleDateString('en-GB', {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    timeZone: 'UTC',
  })

describe('days', () => {
  it('says "1 day" for a figure that shows as 1, and "days" otherwise', () => {
    expect(days(1)).toBe('1 day')
    expect(days(0.96)).toBe('1 day')
    expect(days(1.04)).toBe('1 day')
    expect(days(1.5)).toBe('1.5 days')
    expect(days(0)).toBe('0 days')
  })

  it('says "no activity for 1 day" on the Risk view when quiet is one day', async () => {
    await apiJson(admin, '/api/v1/settings', { method: 'PUT', body: { quietDays: 1 } })
    try {
      const page = await managerPage()
      await page.goto(`${server.url}/?view=risk`)
      await page.getByTestId('risk-counts').waitFor()
      const text = norm(await page.getByTestId('risk-counts').textContent())
      expect(text).toContain('(no activity for 1 day).')
    } finally {
      await apiJson(admin, '/api/v1/settings', { method: 'PUT', body: { quietDays: 30 } })
    }
  })
})

describe('risk reasons', () => {
  it('shows the dates in the reasons as the Closing column does', async () => {
    const page = await managerPage()
    await page.goto(`${server.url}/?view=risk&reason=overdue`)
    const rows = page.getByTestId('risk-table').locator('tbody tr')
    await expect.poll(() => rows.count()).toBeGreaterThan(0)
    const first = rows.first()
    const closing = norm(await first.locator('td').nth(5).textContent())
    const why = norm(await first.locator('td').nth(6).textContent())
    expect(closing).toMatch(/^\d{1,2} [A-Z][a-z]{2} \d{4}$/)
    expect(why).toContain(`Closing date ${closing} has passed`)
    const allWhy = await page.getByTestId('risk-table').locator('.reasons').allTextContents()
    expect(allWhy.filter((t) => ISO_DATE.test(t))).toEqual([])
  })
})

describe('Risk "Show more"', () => {
  it('keeps the rows shown after a reload', async () => {
    const page = await managerPage()
    await page.goto(`${server.url}/?view=risk`)
    // The first load can take longer than a poll's default second on a busy machine.
    await page.getByTestId('risk-table').waitFor()
    const rows = page.getByTestId('risk-table').locator('tbody tr')
    await expect.poll(() => rows.count()).toBe(25)
    await page.getByRole('button', { name: 'Show more' }).click()
    await expect.poll(() => rows.count()).toBe(125)
    await settled(page)
    await page.reload()
    await page.getByTestId('risk-table').waitFor()
    await expect.poll(() => rows.count()).toBe(125)
    expect(norm(await page.getByTestId('risk-shown').textContent())).toMatch(/^Showing 125 of /)
    // Another reason starts the list over.
    await page.selectOption('select[name=reason]', 'overdue')
    await expect.poll(() => page.url()).toContain('reason=overdue')
    expect(new URL(page.url()).searchParams.get('shown')).toBeNull()
  })
})

describe('Deals search', () => {
  it('adds one history entry per search, which Back undoes', async () => {
    const page = await managerPage()
    await page.goto(`${server.url}/?view=overview`)
    await page.getByTestId('open-amount').waitFor()
    await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Deals' }).click()
    await page.getByTestId('deals-table').waitFor()
    await settled(page)
    const before = await page.evaluate(() => history.length)
    const box = page.locator('input[name=q]')
    // Typing, then a pause: one search, one entry.
    await box.pressSequentially('Deal', { delay: 60 })
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('Deal')
    await page.waitForTimeout(800)
    expect(await page.evaluate(() => history.length)).toBe(before + 1)
    // Enter commits at once.
    await box.fill('zzz-no-such-deal')
    await box.press('Enter')
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('zzz-no-such-deal')
    await page.getByText('No deals match these filters.').waitFor()
    await page.waitForTimeout(800)
    expect(await page.evaluate(() => history.length)).toBe(before + 2)

    await page.goBack()
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('Deal')
    await expect.poll(() => box.inputValue()).toBe('Deal')
    await page.goBack()
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBeNull()
    expect(new URL(page.url()).searchParams.get('view')).toBe('deals')
    await expect.poll(() => box.inputValue()).toBe('')
  })
})

describe('Deals search box', () => {
  it('keeps a space typed before a pause, so the next word does not run into the last', async () => {
    const page = await managerPage()
    await page.goto(`${server.url}/?view=deals`)
    await page.getByTestId('deals-table').waitFor()
    await settled(page)
    const box = page.locator('input[name=q]')
    await box.pressSequentially('Deal ', { delay: 60 })
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('Deal')
    await settled(page)
    expect(await box.inputValue()).toBe('Deal ')
    await box.pressSequentially('zzz', { delay: 60 })
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('Deal zzz')
    expect(await box.inputValue()).toBe('Deal zzz')
  })
})

describe('Waterfall', () => {
  it('shows the closing window the figures use when none is chosen', async () => {
    const expected = await apiJson<{ window: { from: string; to: string } }>(
      manager,
      `/api/v1/waterfall?from=${today}&to=${today}`,
    )
    const page = await managerPage()
    await page.goto(`${server.url}/?view=waterfall`)
    await page.getByTestId('waterfall-balance').waitFor()
    await settled(page)
    expect(await page.locator('input[name=a]').inputValue()).toBe(today)
    expect(await page.locator('input[name=closeFrom]').inputValue()).toBe(expected.window.from)
    expect(await page.locator('input[name=closeTo]').inputValue()).toBe(expected.window.to)
  })
})

describe("a Deal's page in Zoho CRM", () => {
  it("averages the stage over the org's last 12 months and shows reasons' dates as elsewhere", async () => {
    const secret = await newWidgetSecret(admin)
    const { users } = await apiJson<{ users: { userId: string; role: string }[] }>(
      admin,
      '/api/v1/admin/users',
    )
    const crmUsers = new Map(buildOrg(42, 'USD').users.all.map((u) => [u.id, u]))
    const reps = users.filter((u) => u.role === 'rep').map((u) => crmUsers.get(u.userId))
    let deal: { id: string; closingDate: string } | undefined
    let rep: (typeof reps)[number] | undefined
    for (const r of reps) {
      if (r?.status !== 'active') continue
      const risk = await apiJson<{ deals: { id: string; closingDate: string }[] }>(
        admin,
        `/api/v1/risk?reason=overdue&owner=${r.id}&limit=1`,
      )
      if (risk.deals[0]) {
        deal = risk.deals[0]
        rep = r
        break
      }
    }
    expect(deal).toBeTruthy()

    // A browser whose calendar day is not the org's: UTC+14 and UTC-12 are never on the same day.
    const dayIn = (timeZone: string) => new Date().toLocaleDateString('en-CA', { timeZone })
    const timezoneId = ['Pacific/Kiritimati', 'Etc/GMT+12'].find((tz) => dayIn(tz) !== today)!
    const ctx = await newContext({ timezoneId })
    const crmUrl = await installCrmStandIn(ctx, server.url, {
      secret,
      orgId,
      user: crmUser(rep!),
      pageLoad: { Entity: 'Deals', EntityId: [deal!.id], ButtonPosition: 'DetailView' },
    })
    const page = await ctx.newPage()
    const asked: URL[] = []
    page.on('request', (r) => {
      const u = new URL(r.url())
      if (u.pathname === '/api/v1/time-in-stage') asked.push(u)
    })
    await page.goto(crmUrl)
    const w = page.frameLocator('#w')
    await w.getByTestId('deal-risks').waitFor({ timeout: 60_000 })
    await w.getByText('Loading the average…').waitFor({ state: 'detached', timeout: 60_000 })

    const from = new Date(`${today}T00:00:00Z`)
    from.setUTCDate(from.getUTCDate() - 365)
    const window = { from: from.toISOString().slice(0, 10), to: today }
    expect(asked.map((u) => u.searchParams.get('from'))).toEqual([window.from])
    expect(asked.map((u) => u.searchParams.get('to'))).toEqual([window.to])

    const risks = norm(await w.getByTestId('deal-risks').textContent())
    expect(risks).toContain(`overdue Closing date ${shown(deal!.closingDate)} has passed`)
    expect(risks).not.toMatch(ISO_DATE)
  })
})
