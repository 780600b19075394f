import { beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { serverAndBrowser } from './server'
import { apiJson, norm, settled, signIn, waitForSync } from './helpers'
import { buildOrg } from '../../api/src/sandbox/org'
import { crmUser, type CrmUser, installCrmStandIn } from './crm-standin'

/*
 * The web view as a manager uses it: filters that stay usable after a choice, period fields that say
 * what the figures cover, a session that ends, an API that cannot be reached, and a clean console.
 */

const { server, newContext } = serverAndBrowser()
let manager: Page

beforeAll(async () => {
  manager = await signIn(await newContext(), server.url, 'manager')
  await waitForSync(manager)
})

let admin: Promise<Page> | undefined
/** The admin, signed in once for every test that needs one. */
const adminPage = async () => (admin ??= newContext().then((c) => signIn(c, server.url, 'admin')))

/** A page in its own context, signed in with the manager's session cookie. */
async function managerPage(): Promise<Page> {
  const ctx = await newContext()
  await ctx.addCookies(await manager.context().cookies())
  return ctx.newPage()
}

describe('filters', () => {
  it('still lists every stage on the Overview once one stage is chosen', async () => {
    const page = await managerPage()
    await page.goto(`${server.url}/?view=overview`)
    await page.getByTestId('open-amount').waitFor()
    await settled(page)
    await page.selectOption('select[name=stage]', 'Qualification')
    await expect.poll(() => page.url()).toContain('stage=Qualification')
    await settled(page)
    const options = await page.locator('select[name=stage] option').allTextContents()
    expect(options).toContain('Negotiation/Review')
    // Another stage can be picked straight away, without going back to "All stages".
    await page.selectOption('select[name=stage]', 'Negotiation/Review')
    await expect.poll(() => page.url()).toContain('stage=Negotiation%2FReview')
  })

  it('shows the fiscal year the Forecast covers in its period fields, with "This year" pressed', async () => {
    const { org } = await apiJson<{ org: { periods: { thisYear: { from: string; to: string } } } }>(
      manager,
      '/api/v1/me',
    )
    const page = await managerPage()
    await page.goto(`${server.url}/?view=forecast`)
    await page.getByTestId('forecast-table').waitFor()
    await settled(page)
    expect(norm(await page.locator('main p.muted').first().textContent())).toContain(
      `${org.periods.thisYear.from} to ${org.periods.thisYear.to}`,
    )
    expect(await page.locator('input[name=from]').inputValue()).toBe(org.periods.thisYear.from)
    expect(await page.locator('input[name=to]').inputValue()).toBe(org.periods.thisYear.to)
    expect(await page.getByRole('button', { name: 'This year' }).getAttribute('aria-pressed')).toBe('true')
    expect(await page.getByRole('button', { name: 'This quarter' }).getAttribute('aria-pressed')).toBe(
      'false',
    )
  })

  it("shows the Trend's own window (the last 90 days by default) in its period fields", async () => {
    const t = await apiJson<{ from: string; to: string }>(manager, '/api/v1/trend')
    const page = await managerPage()
    await page.goto(`${server.url}/?view=trend`)
    await page.getByRole('heading', { name: 'Open pipeline over time' }).waitFor()
    await settled(page)
    expect(await page.locator('input[name=from]').inputValue()).toBe(t.from)
    expect(await page.locator('input[name=to]').inputValue()).toBe(t.to)
  })

  it('moves the period end along when a start after it is typed, instead of failing', async () => {
    const page = await managerPage()
    await page.goto(`${server.url}/?view=overview&from=2026-01-01&to=2026-03-31`)
    await page.getByTestId('open-amount').waitFor()
    await settled(page)
    await page.locator('input[name=from]').fill('2026-05-15')
    await expect.poll(() => new URL(page.url()).searchParams.get('to')).toBe('2026-05-15')
    expect(new URL(page.url()).searchParams.get('from')).toBe('2026-05-15')
    // The label follows the answer for the new period, which a loaded machine may give after the
    // network first looks idle.
    await expect
      .poll(async () => norm(await page.getByTestId('period').textContent()), { timeout: 15_000 })
      .toContain('Period 2026-05-15 to 2026-05-15')
    await settled(page)
    expect(await page.getByRole('alert').count()).toBe(0)
  })

  it('goes back to the default period when a period field is cleared, instead of failing', async () => {
    const { org } = await apiJson<{ org: { periods: { thisQuarter: { from: string; to: string } } } }>(
      manager,
      '/api/v1/me',
    )
    const page = await managerPage()
    // An end before the default quarter's start: the default start with this end would cross it.
    await page.goto(`${server.url}/?view=overview&from=2025-01-01&to=2025-03-31`)
    await page.getByTestId('open-amount').waitFor()
    await settled(page)
    await page.locator('input[name=from]').fill('')
    await expect.poll(() => new URL(page.url()).searchParams.get('from')).toBe(null)
    await settled(page)
    expect(await page.getByRole('alert').count()).toBe(0)
    expect(norm(await page.getByTestId('period').textContent())).toContain(
      `Period ${org.periods.thisQuarter.from} to ${org.periods.thisQuarter.to}`,
    )
  })

  it('shows a filter chosen on another view where this view has no field for it, and removes it', async () => {
    const page = await managerPage()
    await page.goto(`${server.url}/?view=deals&closeFrom=2026-01-01`)
    await page.getByTestId('deals-table').waitFor()
    await page.getByRole('link', { name: 'Leaderboard' }).click()
    await page.getByTestId('leaderboard').waitFor()
    await settled(page)
    const others = page.getByRole('group', { name: 'Other filters' })
    expect(norm(await others.textContent())).toContain('Closing from: 1 Jan 2026')
    const filtered = await page.getByTestId('leaderboard').textContent()
    await others.getByRole('button', { name: /Closing from/ }).click()
    await expect.poll(() => new URL(page.url()).searchParams.get('closeFrom')).toBe(null)
    await expect.poll(() => page.getByTestId('leaderboard').textContent()).not.toBe(filtered)
    expect(await page.getByRole('group', { name: 'Other filters' }).count()).toBe(0)
  })

  it("names an owner chosen on another view by the owner's name, not a Zoho id", async () => {
    const page = await managerPage()
    await page.goto(`${server.url}/?view=overview`)
    await page.getByTestId('open-amount').waitFor()
    await settled(page)
    const owner = page.getByLabel('Owner')
    await owner.selectOption({ index: 1 })
    const name = norm(await owner.locator('option:checked').textContent())
    const id = await owner.inputValue()
    expect(name).not.toBe(id)
    await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Data quality' }).click()
    const others = page.getByRole('group', { name: 'Other filters' })
    await others.waitFor()
    await expect.poll(async () => norm(await others.textContent())).toContain(`Owner: ${name}`)
    expect(await others.textContent()).not.toContain(id)
  })

  it('dims the figures while a period change is loading, so a slow answer does not look like no change', async () => {
    const page = await managerPage()
    await page.goto(`${server.url}/?view=overview`)
    await page.getByTestId('open-amount').waitFor()
    await settled(page)
    let release: () => void = () => {}
    const held = new Promise<void>((r) => (release = r))
    await page.route('**/api/v1/pipeline/summary*', async (r) => {
      await held
      await r.continue().catch(() => {})
    })
    await page.getByRole('button', { name: 'Last quarter' }).click()
    const figures = page.locator('[aria-busy]').filter({ has: page.getByTestId('open-amount') })
    await expect.poll(() => figures.getAttribute('aria-busy')).toBe('true')
    await expect
      .poll(() => figures.evaluate((e) => Number(getComputedStyle(e).opacity)), { timeout: 5_000 })
      .toBeLessThan(0.9)
    release()
    await expect.poll(() => figures.getAttribute('aria-busy')).toBe('false')
    await expect.poll(() => figures.evaluate((e) => Number(getComputedStyle(e).opacity))).toBe(1)
  })

  it('shows which period preset is in force, not only to screen readers', async () => {
    const page = await managerPage()
    await page.goto(`${server.url}/?view=overview`)
    await page.getByTestId('open-amount').waitFor()
    const look = (name: string) =>
      page.getByRole('button', { name }).evaluate((b) => {
        const s = getComputedStyle(b)
        return `${s.backgroundColor} ${s.borderColor} ${s.fontWeight}`
      })
    expect(await page.getByRole('button', { name: 'This quarter' }).getAttribute('aria-pressed')).toBe('true')
    expect(await look('This quarter')).not.toBe(await look('Last quarter'))
  })
})

describe('when things go wrong', () => {
  it('offers sign-in when the session has ended, and comes back to the same view and filters', async () => {
    const page = await managerPage()
    const path = '/?view=stages&from=2026-01-01&to=2026-06-30'
    await page.goto(`${server.url}${path}`)
    await page.getByTestId('stages-table').waitFor()
    await settled(page)
    await page.context().clearCookies() // the session is gone (expired, or signed out elsewhere)
    await page.getByRole('button', { name: 'This year' }).click()
    const signin = page.getByTestId('signin')
    await signin.waitFor({ timeout: 15_000 })
    expect(norm(await signin.textContent())).toContain('Your session has ended')
    const link = page.getByRole('link', { name: 'Sign in with Zoho' })
    const next = new URL((await link.getAttribute('href'))!, server.url).searchParams.get('next')!
    const here = new URL(page.url())
    expect(next).toBe(`${here.pathname}${here.search}`)
    // The sandbox's accounts server signs straight in; the view and its filters come back.
    await link.click()
    await page.getByTestId('whoami').waitFor({ timeout: 60_000 })
    await page.getByTestId('stages-table').waitFor({ timeout: 60_000 })
    expect(new URL(page.url()).search).toBe(here.search)
  })

  it('says in words when the API cannot be reached or a gateway answers instead', async () => {
    const page = await managerPage()
    await page.route('**/api/v1/pipeline/summary*', (r) => r.abort('connectionrefused'))
    await page.goto(`${server.url}/?view=overview`)
    const alert = page.getByRole('alert')
    await alert.waitFor({ timeout: 15_000 })
    expect(norm(await alert.textContent())).toContain(
      'Could not reach Pipeline Pulse. Check your connection and try again.',
    )
    await page.unroute('**/api/v1/pipeline/summary*')
    await page.route('**/api/v1/pipeline/summary*', (r) =>
      r.fulfill({ status: 502, contentType: 'text/html', body: '<html><body>Bad gateway</body></html>' }),
    )
    await page.getByRole('button', { name: 'Try again' }).click()
    await expect
      .poll(async () => norm(await page.getByRole('alert').textContent()))
      .toContain('Pipeline Pulse is not answering right now (HTTP 502')
  })

  it('loads the web view with nothing in the console and no failed request', async () => {
    const page = await managerPage()
    const problems: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text())
    })
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`)
    })
    for (const view of ['overview', 'stages', 'forecast', 'leaderboard', 'deals']) {
      await page.goto(`${server.url}/?view=${view}`)
      await page.locator('main').waitFor()
      await settled(page)
    }
    expect(problems).toEqual([])
    // An icon of its own, or a browser asks for /favicon.ico, which is not served (a 404 in its console).
    const icon = await page.evaluate(() => {
      const link = document.querySelector<HTMLLinkElement>('link[rel=icon]')
      if (!link) return 'no icon link'
      const img = new Image()
      return new Promise<string>((resolve) => {
        img.onload = () => resolve('loaded')
        img.onerror = () => resolve('failed')
        img.src = link.href
      })
    })
    expect(icon).toBe('loaded')
  })
})

describe('an admin and a manager at work', () => {
  it('moves the presets and the default period to the new fiscal year once it is saved', async () => {
    const admin = await adminPage()
    try {
      await admin.goto(`${server.url}/?view=settings`)
      await admin.locator('select[name=fiscalYearStartMonth]').waitFor()
      await settled(admin)
      await admin.selectOption('select[name=fiscalYearStartMonth]', '2')
      await admin.getByRole('button', { name: 'Save settings' }).click()
      await admin.getByText('Saved', { exact: true }).waitFor()
      const { org } = await apiJson<{
        org: { periods: Record<'thisQuarter' | 'thisYear', { from: string; to: string }> }
      }>(admin, '/api/v1/me')
      expect(org.periods.thisYear.from.slice(5)).toBe('02-01')
      // Without a reload: the Overview opens on the new fiscal quarter, "This year" is the new one.
      await admin.getByRole('link', { name: 'Overview' }).click()
      await admin.getByTestId('open-amount').waitFor()
      expect(norm(await admin.getByTestId('period').textContent())).toContain(
        `Period ${org.periods.thisQuarter.from} to ${org.periods.thisQuarter.to}`,
      )
      await admin.getByRole('button', { name: 'This year' }).click()
      await expect.poll(() => new URL(admin.url()).searchParams.get('from')).toBe(org.periods.thisYear.from)
      expect(new URL(admin.url()).searchParams.get('to')).toBe(org.periods.thisYear.to)
    } finally {
      await apiJson(admin, '/api/v1/settings', { method: 'PUT', body: { fiscalYearStartMonth: 1 } })
    }
  })

  it('asks before replacing the widget secret, and keeps it when the admin says no', async () => {
    const admin = await adminPage()
    await admin.goto(`${server.url}/?view=settings`)
    const card = admin.getByRole('region', { name: 'Widget sign-in' })
    await card.getByTestId('widget-org-id').waitFor()
    const posts: string[] = []
    admin.on('request', (r) => {
      if (r.method() === 'POST' && r.url().includes('/api/v1/admin/widget-secret')) posts.push(r.url())
    })
    const asked: string[] = []
    admin.once('dialog', (d) => {
      asked.push(d.message())
      void d.dismiss()
    })
    await card.getByRole('button', { name: 'Generate new secret' }).click()
    await expect.poll(() => asked.length).toBe(1)
    expect(asked[0]).toContain('stops working')
    await settled(admin)
    expect(posts).toEqual([])
    expect(await card.getByTestId('widget-secret').count()).toBe(0)
  })

  it('updates the "As of" badge when a sync started on the Sync view has finished', async () => {
    const page = await managerPage()
    await page.goto(`${server.url}/?view=sync`)
    const badge = page.getByTestId('freshness')
    await badge.waitFor()
    await settled(page)
    const before = await badge.getAttribute('data-last-success')
    await page.getByRole('button', { name: 'Sync now' }).click()
    await expect
      .poll(() => page.getByTestId('sync-progress').getAttribute('data-status'), { timeout: 90_000 })
      .toBe('succeeded')
    const { lastSuccessAt } = await apiJson<{ lastSuccessAt: string }>(page, '/api/v1/sync/status')
    expect(lastSuccessAt).not.toBe(before)
    await expect.poll(() => badge.getAttribute('data-last-success'), { timeout: 10_000 }).toBe(lastSuccessAt)
  })

  it('keeps every figure of a table on one line in a narrow widget-sized window', async () => {
    const page = await managerPage()
    await page.setViewportSize({ width: 380, height: 800 })
    const wrapped = async () =>
      page.locator('td.num').evaluateAll((cells) =>
        cells
          .filter((td) => {
            const r = document.createRange()
            r.selectNodeContents(td)
            return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size > 1
          })
          .map((td) => td.textContent),
      )
    await page.goto(`${server.url}/?view=deals`)
    await page.getByTestId('deals-table').waitFor()
    await settled(page)
    expect(await wrapped()).toEqual([])
    await page.goto(`${server.url}/?view=sync`)
    await page.getByTestId('sync-runs').waitFor()
    await settled(page)
    expect(await wrapped()).toEqual([])
  })

  it('keeps the at-risk rows a few lines tall in a narrow window (the table scrolls sideways)', async () => {
    const page = await managerPage()
    await page.setViewportSize({ width: 380, height: 800 })
    await page.goto(`${server.url}/?view=risk`)
    await page.getByTestId('risk-table').waitFor()
    await settled(page)
    const { heights, line } = await page.getByTestId('risk-table').evaluate((t) => ({
      heights: [...t.querySelectorAll('tbody tr')].slice(0, 25).map((r) => r.getBoundingClientRect().height),
      line: parseFloat(getComputedStyle(t.querySelector('td')!).lineHeight),
    }))
    // Three reasons take up to two lines each; a row was nine lines, one word of a reason a line.
    expect(Math.max(...heights) / line).toBeLessThanOrEqual(7)
  })
})

describe('keyboard', () => {
  it('offers "Skip to content" as the first Tab stop, and it lands in the view', async () => {
    const page = await managerPage()
    await page.goto(`${server.url}/?view=overview`)
    await page.getByTestId('open-amount').waitFor()
    await page.locator('body').focus()
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content')
    await page.keyboard.press('Enter')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main')
    // The next Tab goes on inside the view (its first filter), not back through the nav.
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.closest('main') !== null)).toBe(true)
  })
})

describe('inside Zoho CRM, as a rep (a narrow widget)', () => {
  let crm: { secret: string; orgId: string }
  let rep: CrmUser
  let othersDeal: string

  beforeAll(async () => {
    const admin = await adminPage()
    const orgId = (await apiJson<{ org: { id: string } }>(admin, '/api/v1/me')).org.id
    const { secret } = await apiJson<{ secret: string }>(admin, '/api/v1/admin/widget-secret', {
      method: 'POST',
      body: {},
    })
    crm = { secret, orgId }
    const { users } = await apiJson<{ users: { userId: string; role: string }[] }>(
      admin,
      '/api/v1/admin/users',
    )
    const r = buildOrg(42, 'USD').users.all.find((u) =>
      users.some((x) => x.userId === u.id && x.role === 'rep'),
    )!
    rep = crmUser(r)
    // A deal of someone else: the rep opens it in Zoho CRM, where the related list shows regardless.
    const { deals } = await apiJson<{ deals: { id: string; ownerId: string | null }[] }>(
      admin,
      '/api/v1/deals?limit=100',
    )
    othersDeal = deals.find((d) => d.ownerId !== rep.id)!.id
  })

  async function openWidget(pageLoad: Record<string, unknown> | null, width: number) {
    const ctx = await newContext({ viewport: { width, height: 900 } })
    const crmUrl = await installCrmStandIn(ctx, server.url, { ...crm, user: rep, pageLoad })
    const page = await ctx.newPage()
    await page.goto(crmUrl)
    return { page, w: page.frameLocator('#w') }
  }

  it('explains a deal outside the rep\'s view instead of "Not found: Deal not found"', async () => {
    const { w } = await openWidget({ Entity: 'Deals', EntityId: othersDeal }, 420)
    const msg = w.getByTestId('deal-unavailable')
    await msg.waitFor({ timeout: 60_000 })
    expect(norm(await msg.textContent())).toContain('This deal is not in your Pipeline Pulse view')
    expect(await w.getByRole('alert').count()).toBe(0)
  })

  it('says why the widget cannot sign in when its sign-in function has the wrong secret', async () => {
    const ctx = await newContext({ viewport: { width: 420, height: 900 } })
    const crmUrl = await installCrmStandIn(ctx, server.url, {
      ...crm,
      secret: 'not-the-secret-pipeline-pulse-holds',
      user: rep,
      pageLoad: null,
    })
    const page = await ctx.newPage()
    await page.goto(crmUrl)
    const alert = page.frameLocator('#w').getByRole('alert')
    await alert.waitFor({ timeout: 60_000 })
    const text = norm(await alert.textContent())
    expect(text).toContain('could not verify your Zoho sign-in')
    expect(text).toContain('pipelinepulse_widget_assertion')
    expect(text).not.toContain('session has ended')
  })

  it("shortens the forecast chart's labels so they do not run together in a narrow widget", async () => {
    const { page, w } = await openWidget(null, 420)
    await w.getByTestId('whoami').waitFor({ timeout: 60_000 })
    await w.getByRole('link', { name: 'Forecast' }).click()
    await w.getByTestId('forecast-table').waitFor({ timeout: 30_000 })
    await settled(page)
    const chart = w.locator('.chart').first()
    await expect.poll(() => chart.getAttribute('data-x-labels')).not.toBe(null)
    const labels = JSON.parse((await chart.getAttribute('data-x-labels'))!) as string[]
    // Each label fits the room its bar has, measured in the axis's font.
    const fits = await chart.evaluate((el, labels) => {
      const plot = el.querySelector('.u-over') as HTMLElement
      const room = plot.clientWidth / labels.length - 8
      const ctx = document.createElement('canvas').getContext('2d')!
      ctx.font = `12px ${getComputedStyle(document.body).fontFamily}` // uPlot's axis font size
      return labels.map((l) => ctx.measureText(l).width <= room)
    }, labels)
    expect(fits.every(Boolean), JSON.stringify(labels)).toBe(true)
    expect(new Set(labels).size).toBe(labels.length)
  })
})
