import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { BrowserContextOptions, Page } from 'playwright-core'
import { formatMoney } from '../../shared/money'
import { buildOrg } from '../../api/src/sandbox/org'
import { ARTIFACTS, serverAndBrowser } from './server'
import {
  apiJson,
  newWidgetSecret,
  norm,
  parseCsv,
  settled,
  shot,
  signIn,
  waitForSync,
  type Role,
} from './helpers'
import { crmUser, type CrmUser, installCrmStandIn, openDealInCrm, WIDGET_ORIGIN } from './crm-standin'

/*
 * The product as users meet it: the real Node server (demo mode: sandbox Zoho org + first sync) and
 * headless Chromium. Figures shown are compared with the API's answers fetched with the same session.
 */

// The demo's sandbox Zoho org listens on a port of its own: its control API (sandboxUrl()) lets a test
// spend the org's API credits.
const { server, sandboxUrl, newContext: openContext } = serverAndBrowser({}, { demoSandbox: true })

const newContext = (opts: BrowserContextOptions = {}) => openContext({ acceptDownloads: true, ...opts })

/** A new page at another screen size, signed in as `page` is (its cookies). */
async function samePerson(page: Page, viewport: { width: number; height: number }): Promise<Page> {
  const context = await newContext({ viewport, storageState: await page.context().storageState() })
  return context.newPage()
}

const money = (amount: string, currency = 'SGD') => norm(formatMoney(amount, currency, 'en'))
const tile = (page: Page, id: string) => page.getByTestId(id).locator('[data-value]')
const tileText = async (page: Page, id: string) => norm(await tile(page, id).textContent())

interface Summary {
  currency: string
  open: { count: number; amount: string; weighted: string }
  won: { count: number; amount: string }
  lost: { count: number; amount: string }
  byStage: { stage: string; count: number; amount: string }[]
  averageDealSize: string | null
}

/** The overview's tiles equal GET /api/v1/pipeline/summary for the period the page shows. */
async function expectOverviewMatchesApi(page: Page, extra = ''): Promise<Summary> {
  await page.getByTestId('open-amount').waitFor()
  const from = await page.getByLabel('Period from').inputValue()
  const to = await page.getByLabel('Period to').inputValue()
  const s = await apiJson<Summary>(page, `/api/v1/pipeline/summary?from=${from}&to=${to}${extra}`)
  await expect.poll(() => tileText(page, 'open-amount')).toBe(money(s.open.amount, s.currency))
  expect(await tileText(page, 'open-weighted')).toBe(money(s.open.weighted, s.currency))
  expect(await tileText(page, 'won-amount')).toBe(money(s.won.amount, s.currency))
  expect(await tileText(page, 'lost-amount')).toBe(money(s.lost.amount, s.currency))
  expect(await tileText(page, 'avg-deal')).toBe(
    s.averageDealSize ? money(s.averageDealSize, s.currency) : '—',
  )
  expect(norm(await page.getByTestId('open-amount').textContent())).toContain(
    `${s.open.count.toLocaleString('en')} open deal${s.open.count === 1 ? '' : 's'}`,
  )
  expect(norm(await page.getByTestId('won-amount').textContent())).toContain(
    `${s.won.count.toLocaleString('en')} deal${s.won.count === 1 ? '' : 's'} closed won`,
  )
  return s
}

const canvasImage = (page: Page) =>
  page
    .locator('.chart canvas')
    .first()
    .evaluate((c: HTMLCanvasElement) => c.toDataURL())

it('serves the web view at / and asks an anonymous visitor to sign in', async () => {
  const page = await (await newContext()).newPage()
  await page.goto(server.url + '/')
  expect(await page.title()).toBe('Pipeline Pulse')
  await page.getByRole('link', { name: 'Demo sign-in' }).waitFor()
  await shot(page, 'web-signin')
})

describe('web view as a manager', () => {
  let page: Page
  beforeAll(async () => {
    page = await signIn(await newContext(), server.url, 'manager')
    await waitForSync(page)
  })

  it('shows the overview figures the API computes', async () => {
    await page.goto(server.url + '/?view=overview')
    const s = await expectOverviewMatchesApi(page)
    expect(s.open.count).toBeGreaterThan(0)
    await page.getByTestId('freshness').waitFor()
    expect(norm(await page.getByTestId('freshness').textContent())).toMatch(/As of .* ago/)
    await settled(page)
    await shot(page, 'web-manager-overview')
  })

  it("flags some of the team's open deals at risk, not all, on days in stage from their history", async () => {
    const s = await apiJson<Summary>(page, '/api/v1/pipeline/summary')
    const { counts } = await apiJson<{
      counts: {
        total: number
        stuck: number
        stuckUpTo: number
        overdue: number
        slipping: number
        quiet: number
      }
    }>(page, '/api/v1/risk?limit=1')
    // The demo's first sync read the Stage_History its backfill wants: no day count is provisional.
    expect(counts.stuckUpTo).toBe(0)
    // Its reps work most of their open deals; some are stuck, some overdue, some quiet, and some
    // slipped, as their Stage_History's closing dates say.
    expect(counts.total).toBeLessThan(s.open.count * 0.8)
    for (const n of [counts.stuck, counts.overdue, counts.slipping, counts.quiet])
      expect(n).toBeGreaterThan(0)
    await page.goto(server.url + '/?view=risk')
    await expect
      .poll(async () => norm(await page.getByTestId('risk-shown').textContent()))
      .toBe(`Showing 25 of ${counts.total.toLocaleString('en')}, largest first`)
  })

  it('puts a filter change in the URL and redraws the chart; Back undoes it', async () => {
    await page.goto(server.url + '/?view=overview')
    const all = await expectOverviewMatchesApi(page)
    await page.locator('.chart canvas').waitFor()
    const before = await canvasImage(page)
    const stage = all.byStage.find((b) => b.count > 0 && b.amount !== all.open.amount)!.stage
    await page.getByRole('combobox', { name: 'Stage', exact: true }).selectOption(stage)
    await expect.poll(() => new URL(page.url()).searchParams.get('stage')).toBe(stage)
    const one = await expectOverviewMatchesApi(page, `&stage=${encodeURIComponent(stage)}`)
    expect(one.open.amount).not.toBe(all.open.amount)
    await expect.poll(() => canvasImage(page)).not.toBe(before)
    await shot(page, 'web-manager-overview-filtered')

    // A shared URL opens the same view.
    const other = await page.context().newPage()
    await other.goto(page.url())
    await expect.poll(() => tileText(other, 'open-amount')).toBe(money(one.open.amount, one.currency))
    await other.close()

    await page.goBack()
    await expect.poll(() => new URL(page.url()).searchParams.get('stage')).toBe(null)
    await expect.poll(() => tileText(page, 'open-amount')).toBe(money(all.open.amount, all.currency))
  })

  it('exports a CSV with one row per deal in the deals list', async () => {
    await page.goto(server.url + '/?view=deals&state=open')
    await page.getByTestId('deals-table').waitFor()
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ])
    const rows = parseCsv(readFileSync((await download.path())!, 'utf8').replace(/^\ufeff/, '')).filter((r) =>
      r.some((f) => f !== ''),
    )
    const header = rows[0]!
    for (const col of [
      'id',
      'name',
      'stage',
      'owner_id',
      'owner_name',
      'currency',
      'amount',
      'amount_sgd',
      'fx_rate',
      'fx_date',
      'closing_date',
    ])
      expect(header).toContain(col)
    let total = 0
    let cursor: string | null = null
    do {
      const r: { deals: unknown[]; nextCursor: string | null } = await apiJson(
        page,
        `/api/v1/deals?state=open&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      )
      total += r.deals.length
      cursor = r.nextCursor
    } while (cursor)
    expect(total).toBeGreaterThan(0)
    expect(rows.length - 1).toBe(total)
    const stateCol = header.indexOf('state')
    if (stateCol >= 0) expect(new Set(rows.slice(1).map((r) => r[stateCol]))).toEqual(new Set(['open']))
    await shot(page, 'web-manager-deals')
  })

  it('sorts and pages the deals table through the URL', async () => {
    await page.goto(server.url + '/?view=deals')
    await page.getByTestId('deals-table').waitFor()
    await page.getByRole('button', { name: /^Amount \(SGD\)/ }).click()
    await expect.poll(() => new URL(page.url()).searchParams.get('sort')).toBe('amount')
    await settled(page)
    const firstPage = await page.locator('[data-testid=deals-table] tbody tr').first().textContent()
    await page.getByRole('button', { name: 'Next' }).click()
    await expect.poll(() => new URL(page.url()).searchParams.get('cursor')).not.toBe(null)
    await expect
      .poll(() => page.locator('[data-testid=deals-table] tbody tr').first().textContent())
      .not.toBe(firstPage)
    await page.getByRole('button', { name: 'Previous' }).click()
    await expect
      .poll(() => page.locator('[data-testid=deals-table] tbody tr').first().textContent())
      .toBe(firstPage)
  })

  it('starts a sync and follows its progress bar to the end', async () => {
    await page.goto(server.url + '/?view=sync')
    await page.getByRole('button', { name: 'Sync now' }).click()
    const progress = page.getByTestId('sync-progress')
    await progress.waitFor()
    const seen = new Set<string>()
    const deadline = Date.now() + 120_000
    while ((await progress.getAttribute('data-status')) !== 'succeeded') {
      const status = (await progress.getAttribute('data-status')) ?? ''
      expect(status).not.toBe('failed')
      seen.add((await page.getByRole('progressbar').getAttribute('aria-valuenow')) ?? '')
      if (Date.now() > deadline) throw new Error('sync did not finish')
      await page.waitForTimeout(100)
    }
    expect(await page.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100')
    expect(norm(await progress.textContent())).toMatch(
      /^Sync finished: [\d,]+ deals read, [\d,]+ new or changed, [\d,]+ deleted, [\d,]+ API calls\.$/,
    )
    await expect
      .poll(() => page.locator('[data-testid=sync-runs] tbody tr').first().textContent())
      .toContain('succeeded')
    // The calls it made count against the hourly budget shown.
    await expect
      .poll(async () => norm(await page.getByTestId('zoho-calls').textContent()))
      .toMatch(/^Zoho API calls in the last hour: [1-9][\d,]* of 1,000 allowed$/)
    await shot(page, 'web-manager-sync-finished')
  })

  it("pauses a sync when Zoho's API credits run out, says why, and finishes it once they are back", async () => {
    const setCredits = (left: number) =>
      fetch(`${sandboxUrl()}/credits`, { method: 'PUT', body: JSON.stringify({ left }) }).then((r) => {
        expect(r.status).toBe(200)
      })
    await setCredits(0)
    await page.goto(server.url + '/?view=sync')
    await page.getByRole('button', { name: 'Sync now' }).click()
    const progress = page.getByTestId('sync-progress')
    // The client retries the 429s for a few seconds before the run pauses.
    await expect
      .poll(async () => norm(await progress.textContent()), { timeout: 60_000 })
      .toMatch(/^Paused: Zoho's API credits for the last 24 hours are used up/)
    expect(await progress.getAttribute('data-status')).toBe('running')
    // The stream ends with the pause and the runs list follows.
    await expect
      .poll(() => page.locator('[data-testid=sync-runs] tbody tr').first().textContent())
      .toContain('paused')
    await shot(page, 'web-manager-sync-paused')
    // Opened later, the Sync page says why the last run waits.
    const later = await page.context().newPage()
    await later.goto(server.url + '/?view=sync')
    expect(norm(await later.getByTestId('sync-paused').textContent())).toMatch(/^Paused: .* continues/)
    await later.close()

    // Sync now continues the same run, and the page follows it again.
    await setCredits(100_000)
    await page.getByRole('button', { name: 'Sync now' }).click()
    await expect
      .poll(async () => (await progress.getAttribute('data-status')) ?? '', { timeout: 120_000 })
      .toBe('succeeded')
    await expect
      .poll(() => page.locator('[data-testid=sync-runs] tbody tr').first().textContent())
      .toContain('succeeded')
  })

  it('renders every view it offers without an error', async () => {
    const views = await page
      .locator('nav.nav a')
      .evaluateAll((as) => as.map((a) => new URL((a as HTMLAnchorElement).href).searchParams.get('view')!))
    expect(views).toEqual(
      expect.arrayContaining(['overview', 'forecast', 'waterfall', 'leaderboard', 'deals', 'sync']),
    )
    expect(views).not.toContain('settings')
    const failures: string[] = []
    for (const v of views) {
      await page.goto(`${server.url}/?view=${v}`)
      await settled(page)
      const errors = await page.locator('main .state.error').allTextContents()
      if (errors.length) failures.push(`${v}: ${errors.join(' | ')}`)
      await shot(page, `web-manager-${v}`)
    }
    expect(failures).toEqual([])
  })

  it('prints the report to a clean PDF', async () => {
    await page.goto(server.url + '/?view=report')
    await settled(page)
    await page.emulateMedia({ media: 'print' })
    expect(await page.locator('nav.nav').isVisible()).toBe(false)
    expect(await page.getByRole('button', { name: 'Print / save as PDF' }).isVisible()).toBe(false)
    await shot(page, 'web-report-print')
    const pdf = await page.pdf({ path: join(ARTIFACTS, 'report.pdf'), format: 'A4', printBackground: true })
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-')
    await page.emulateMedia({ media: 'screen' })
  })

  it('is readable at phone width: no view scrolls the page sideways', async () => {
    const phone = await samePerson(page, { width: 390, height: 844 })
    await phone.goto(server.url + '/?view=overview')
    await phone.getByTestId('open-amount').waitFor()
    await settled(phone)
    await shot(phone, 'web-manager-phone')
    // Every view the manager has; a wide table scrolls inside its card instead.
    const views = await phone
      .locator('nav.nav a')
      .evaluateAll((as) => as.map((a) => new URL((a as HTMLAnchorElement).href).searchParams.get('view')!))
    const overflowing: string[] = []
    for (const v of views) {
      await phone.goto(`${server.url}/?view=${v}`)
      await settled(phone)
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
      if (overflow > 1) overflowing.push(`${v}: ${overflow}px`)
    }
    expect(overflowing).toEqual([])
  })

  it('keeps each figure whole, the stage table uncut, axis labels unclipped and bars on zero on a wide screen', async () => {
    const wide = await samePerson(page, { width: 1440, height: 900 })
    await wide.goto(server.url + '/?view=overview')
    await wide.getByTestId('open-amount').waitFor()
    await settled(wide)
    // The number of each tile ("62,205,907.62" of "SGD 62,205,907.62") lies on one line.
    const broken = await wide.evaluate(() =>
      [...document.querySelectorAll('[data-value]')].flatMap((el) => {
        const text = el.firstChild
        if (!(text instanceof Text)) return []
        const range = document.createRange()
        range.setStart(text, text.data.lastIndexOf(' ') + 1)
        range.setEnd(text, text.data.length)
        return range.getClientRects().length > 1 ? [text.data] : []
      }),
    )
    expect(broken).toEqual([])
    await shot(wide, 'web-manager-overview-wide')

    // By stage: every column of the table in view, none behind a horizontal scroll.
    await wide.goto(server.url + '/?view=stages')
    await wide.getByTestId('stages-table').waitFor()
    const cut = await wide
      .getByTestId('stages-table')
      .evaluate((t) => t.parentElement!.scrollWidth - t.parentElement!.clientWidth)
    expect(cut).toBeLessThanOrEqual(0)
    // The chart's value axis is as wide as its longest label ("SGD 12.5M"): no ink at the left edge.
    await settled(wide)
    const edgeInk = await wide
      .locator('.chart canvas')
      .first()
      .evaluate((c: HTMLCanvasElement) => {
        const d = c.getContext('2d')!.getImageData(0, 0, 2, c.height).data
        let inked = 0
        for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) inked++
        return inked
      })
    expect(edgeInk).toBe(0)
    await shot(wide, 'web-manager-stages-wide')

    // The forecast's stacked bars stand on zero, however large the smallest stack.
    await wide.goto(server.url + '/?view=forecast')
    const chart = wide.locator('.chart[data-y-min]').first()
    await chart.waitFor()
    expect(Number(await chart.getAttribute('data-y-min'))).toBe(0)
    expect(Number(await chart.getAttribute('data-y-max'))).toBeGreaterThan(0)
  })
})

describe('web view as a rep', () => {
  it('shows the rep their own figures and no manager views', async () => {
    const page = await signIn(await newContext(), server.url, 'rep')
    expect(norm(await page.getByTestId('whoami').textContent())).toContain('rep')
    await expectOverviewMatchesApi(page)
    const views = await page.locator('nav.nav a').allTextContents()
    expect(views).toContain('Overview')
    expect(views).not.toContain('Leaderboard')
    expect(views).not.toContain('Sync')
    await settled(page)
    await shot(page, 'web-rep-overview')
  })
})

describe('widget inside Zoho CRM', () => {
  let secret: string
  let orgId: string
  let rep: CrmUser
  let dealId: string
  let deal: { name: string; amountSgd: string | null; stage: string; stageHistory: unknown[] }

  beforeAll(async () => {
    const admin = await signIn(await newContext(), server.url, 'admin' as Role)
    const me = await apiJson<{ org: { id: string } }>(admin, '/api/v1/me')
    orgId = me.org.id
    secret = await newWidgetSecret(admin)
    const { users } = await apiJson<{ users: { userId: string; role: string }[] }>(
      admin,
      '/api/v1/admin/users',
    )
    // The CRM plays Zoho: it knows each user's ZUID (the sandbox org is the stand-in's Zoho).
    const crmUsers = new Map(buildOrg(42, 'USD').users.all.map((u) => [u.id, u]))
    // A rep's open deal in a foreign currency, so the FX provenance has a rate set to show.
    for (const u of users.filter((x) => x.role === 'rep')) {
      const d = await apiJson<{ deals: { id: string; currency: string; amountSgd: string | null }[] }>(
        admin,
        `/api/v1/deals?owner=${u.userId}&state=open&limit=10&sort=amount&dir=desc`,
      )
      const crm = crmUsers.get(u.userId)
      if (!crm) continue
      for (const pick of d.deals.filter((x) => x.currency !== 'SGD' && x.amountSgd)) {
        const detail = await apiJson<typeof deal>(admin, `/api/v1/deals/${pick.id}`)
        if (!dealId || detail.stageHistory.length > deal.stageHistory.length) {
          rep = crmUser(crm)
          dealId = pick.id
          deal = detail
        }
        if (deal.stageHistory.length > 0) break
      }
      if (dealId && deal.stageHistory.length > 0) break
    }
    expect(dealId).toBeTruthy()
  })

  it("shows a Deal's SGD value, FX provenance and stage history on its page", async () => {
    const ctx = await newContext()
    const { page, w } = await openDealInCrm(ctx, server.url, {
      secret,
      orgId,
      user: rep,
      dealId,
    })
    expect(norm(await w.getByTestId('deal-sgd').locator('.value').textContent())).toBe(money(deal.amountSgd!))
    expect(norm(await w.getByTestId('deal-fx').textContent())).toMatch(/Rate set.*week of/)
    expect(await w.locator('[data-testid=deal-history] li').count()).toBe(deal.stageHistory.length)
    expect(norm(await w.getByTestId('deal-days').textContent())).toContain(`in ${deal.stage} so far`)
    await expect
      .poll(async () => norm(await w.getByTestId('deal-stage-average').textContent()))
      .not.toContain('Loading')
    // The widget never asked the browser who the user is beyond the SDK, and signed in via the function.
    expect(await page.evaluate(() => (window as unknown as { calls: string[] }).calls)).toEqual(
      expect.arrayContaining(['getCurrentUser', 'execute']),
    )
    await settled(page)
    // Cross-origin frames composite separately: make sure it has painted before the screenshot.
    await w.getByTestId('deal-view').scrollIntoViewIfNeeded()
    await page.waitForTimeout(500)
    await shot(page, 'widget-deal')
  })

  it("shows the rep's dashboard in a web tab", async () => {
    const ctx = await newContext()
    const crmUrl = await installCrmStandIn(ctx, server.url, {
      secret,
      orgId,
      user: rep,
      pageLoad: null,
    })
    const page = await ctx.newPage()
    await page.goto(crmUrl)
    const w = page.frameLocator('#w')
    await w.getByTestId('open-amount').waitFor({ timeout: 60_000 })
    expect(norm(await w.getByTestId('whoami').textContent())).toContain(`${rep.full_name} · rep`)
    expect(await w.locator('[data-testid=open-amount] [data-value]').textContent()).toMatch(/SGD/)
    await settled(page)
    await shot(page, 'widget-webtab')
  })

  it('tells the user to open it inside Zoho CRM when opened on its own', async () => {
    const ctx = await newContext()
    await installCrmStandIn(ctx, server.url, null)
    const page = await ctx.newPage()
    await page.goto(`${WIDGET_ORIGIN}/widget.html`)
    await page.getByTestId('outside-crm').waitFor({ timeout: 15_000 })
    expect(
      await page.getByRole('link', { name: 'Open the Pipeline Pulse web view' }).getAttribute('href'),
    ).toBe(`${WIDGET_ORIGIN}/`)
    await shot(page, 'widget-outside-crm')
  })
})
