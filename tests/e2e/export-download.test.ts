import { readFileSync } from 'node:fs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Download, Page } from 'playwright-core'
import { buildOrg } from '../../api/src/sandbox/org'
import { serverAndBrowser } from './server'
import { apiJson, newWidgetSecret, parseCsv, settled, signIn, waitForSync } from './helpers'
import { crmUser, installCrmStandIn, WIDGET_ORIGIN } from './crm-standin'

/*
 * How Export CSV saves the file. The web view (cookie session) hands the export URL to the browser,
 * which streams it to disk: the tab never holds the file, however big the org. The widget (bearer
 * token inside Zoho's iframe) still fetches it and saves a Blob. Both honour the filters on screen.
 */

const { server, newContext } = serverAndBrowser()
let admin: Page
let users: { userId: string; role: string }[]

const context = () => newContext({ acceptDownloads: true })

beforeAll(async () => {
  admin = await signIn(await context(), server.url, 'admin')
  await waitForSync(admin)
  users = (await apiJson<{ users: { userId: string; role: string }[] }>(admin, '/api/v1/admin/users')).users
})

/** The CSV as the server sends it to this page's session, for comparison. */
const direct = (page: Page, query: string) =>
  page.evaluate(async (q) => (await fetch(`/api/v1/exports/deals.csv?${q}`)).text(), query)

const rowsOf = (text: string) => parseCsv(text.replace(/^\ufeff/, '')).filter((r) => r.some((f) => f !== ''))

async function clickExport(
  page: Page,
  scope: Page | ReturnType<Page['frameLocator']> = page,
): Promise<Download> {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    scope.getByRole('button', { name: 'Export CSV' }).click(),
  ])
  return download
}

describe('Export CSV in the web view', () => {
  it('lets the browser stream the export URL to disk (no Blob in the tab), with the filters on screen', async () => {
    const page = await signIn(await context(), server.url, 'manager')
    await page.goto(`${server.url}/?view=deals&state=open`)
    await page.getByTestId('deals-table').waitFor()
    await settled(page)
    const download = await clickExport(page)
    // The browser fetched the endpoint itself: not a blob: URL the page built from a fetched body.
    const url = new URL(download.url())
    expect(url.origin + url.pathname).toBe(`${server.url}/api/v1/exports/deals.csv`)
    expect(url.searchParams.get('state')).toBe('open')
    expect(download.suggestedFilename()).toMatch(/^deals-\d{4}-\d{2}-\d{2}\.csv$/)
    expect(await download.failure()).toBeNull()
    const bytes = readFileSync((await download.path())!)
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    const rows = rowsOf(bytes.toString('utf8'))
    const state = rows[0]!.indexOf('state')
    expect(rows.length).toBeGreaterThan(2)
    for (const r of rows.slice(1)) expect(r[state]).toBe('open')
    // The manager's scope and the filter, as the API answers them.
    expect(rows).toEqual(rowsOf(await direct(page, 'state=open')))
  })

  it('shows a refused export on the page (403 for an owner outside the scope), and saves nothing', async () => {
    const page = await signIn(await context(), server.url, 'rep')
    const me = await apiJson<{ userId: string }>(page, '/api/v1/me')
    const other = users.find((u) => u.role === 'admin' && u.userId !== me.userId)!
    await page.goto(`${server.url}/?view=deals&owner=${other.userId}`)
    // The list refuses the filter too.
    await page.getByRole('alert').first().waitFor()
    const alerts = await page.getByRole('alert').count()
    let downloads = 0
    page.on('download', () => downloads++)
    await page.getByRole('button', { name: 'Export CSV' }).click()
    await expect.poll(() => page.getByRole('alert').count()).toBe(alerts + 1)
    expect(await page.getByRole('alert').last().textContent()).toMatch(/outside your visibility scope/)
    await page.waitForTimeout(1000)
    expect(downloads).toBe(0)
  })
})

describe('Export CSV in the Zoho CRM widget', () => {
  it('still downloads with the bearer token (fetch, then a Blob) and the filters on screen', async () => {
    const orgId = (await apiJson<{ org: { id: string } }>(admin, '/api/v1/me')).org.id
    const secret = await newWidgetSecret(admin)
    const org = buildOrg(42, 'USD').users
    const r = org.all.find((u) => users.some((x) => x.userId === u.id && x.role === 'rep'))!
    const ctx = await context()
    const crmUrl = await installCrmStandIn(ctx, server.url, {
      secret,
      orgId,
      user: crmUser(r),
      pageLoad: null,
    })
    const page = await ctx.newPage()
    await page.goto(crmUrl)
    const w = page.frameLocator('#w')
    await w.getByTestId('whoami').waitFor({ timeout: 60_000 })
    await w
      .getByRole('navigation', { name: 'Views' })
      .getByRole('link', { name: 'Deals', exact: true })
      .click()
    await w.getByTestId('deals-table').waitFor()
    await w.getByLabel('State').selectOption('won')
    await w.getByTestId('deals-table').waitFor()
    const download = await clickExport(page, w)
    expect(download.url()).toMatch(new RegExp(`^blob:${WIDGET_ORIGIN}/`))
    expect(download.suggestedFilename()).toMatch(/^deals-\d{4}-\d{2}-\d{2}\.csv$/)
    const rows = rowsOf(readFileSync((await download.path())!, 'utf8'))
    const state = rows[0]!.indexOf('state')
    const owner = rows[0]!.indexOf('owner_id')
    expect(rows.length).toBeGreaterThan(1)
    for (const row of rows.slice(1)) {
      expect(row[state]).toBe('won')
      expect(row[owner]).toBe(r.id)
    }
  })
})
