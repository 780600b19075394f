import { readFileSync } from 'node:fs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { serverAndBrowser } from './server'
import { apiJson, parseCsv, settled, signIn, waitForSync } from './helpers'

/*
 * Keyboard and screen-reader use of the web view, and the CSV as the Export button saves it. The
 * org's base currency is USD, so the export's base-currency columns must say USD.
 */

const { server, newContext } = serverAndBrowser({ BASE_CURRENCY: 'USD' })
let page: Page

beforeAll(async () => {
  page = await signIn(await newContext(), server.url, 'manager')
  await waitForSync(page)
})

describe('Export CSV', () => {
  it("saves the file under the server's dated name, UTF-8 with a BOM, base columns in USD", async () => {
    await page.goto(`${server.url}/?view=deals`)
    await page.getByTestId('deals-table').waitFor()
    const direct = await page.evaluate(async () =>
      (await fetch('/api/v1/exports/deals.csv')).headers.get('content-disposition'),
    )
    const dated = /filename="(deals-\d{4}-\d{2}-\d{2}\.csv)"/.exec(direct ?? '')?.[1]
    expect(dated).toBeDefined()
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ])
    expect(download.suggestedFilename()).toBe(dated)
    const bytes = readFileSync((await download.path())!)
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    const [header] = parseCsv(bytes.subarray(3).toString('utf8'))
    expect(header).toEqual(expect.arrayContaining(['id', 'amount', 'currency', 'amount_usd', 'weighted_usd']))
  })
})

describe('keyboard and screen readers', () => {
  it('sets the page language; every control on the Deals view has a name and a visible focus ring in tab order', async () => {
    await page.goto(`${server.url}/?view=deals`)
    await page.getByTestId('deals-table').waitFor()
    await settled(page)
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en')
    const cdp = await page.context().newCDPSession(page)
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as {
      nodes: { ignored: boolean; role?: { value: string }; name?: { value: string } }[]
    }
    const controls = ['button', 'textbox', 'combobox', 'searchbox', 'checkbox', 'link', 'spinbutton']
    const unnamed = nodes.filter(
      (n) => !n.ignored && controls.includes(n.role?.value ?? '') && !n.name?.value?.trim(),
    )
    expect(unnamed).toEqual([])
    await cdp.detach()

    // Tab from the top: the nav, the filters, the sort buttons and the pager are all reached, each
    // with a focus ring.
    const reached: string[] = []
    await page.locator('body').focus()
    for (let i = 0; i < 80 && !reached.includes('button:Next'); i++) {
      await page.keyboard.press('Tab')
      const f = await page.evaluate(() => {
        const e = document.activeElement as HTMLElement
        const cs = getComputedStyle(e)
        return {
          id: `${e.tagName.toLowerCase()}:${(e.getAttribute('name') ?? e.textContent ?? '').trim()}`,
          // A date field's calendar button has focus inside the browser's own shadow DOM (the field
          // is not :focus then); Chromium rings that button itself.
          ring: !e.matches(':focus') || (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0),
        }
      })
      expect(f.ring, f.id).toBe(true)
      reached.push(f.id)
    }
    for (const want of [
      'a:Overview',
      'a:Deals',
      'select:owner',
      'select:state',
      'input:q',
      'button:Export CSV',
      'button:Deal',
      'button:Next',
    ])
      expect(reached, want).toContain(want)
  })

  it('names a sort button by its column alone; the header says the order', async () => {
    await page.goto(`${server.url}/?view=deals`)
    await page.getByTestId('deals-table').waitFor()
    // The arrow is not read out as part of the name ("Closing date black up-pointing triangle").
    await expect.poll(() => page.getByRole('button', { name: 'Closing date', exact: true }).count()).toBe(1)
    const header = page.getByRole('columnheader', { name: 'Closing date' })
    expect(await header.getAttribute('aria-sort')).toBe('ascending')
    await page.getByRole('button', { name: 'Closing date', exact: true }).click()
    await expect.poll(() => header.getAttribute('aria-sort')).toBe('descending')
    expect(await page.getByRole('button', { name: 'Closing date', exact: true }).count()).toBe(1)
  })

  it('says a stale freshness badge is stale in words, not only in amber', async () => {
    const status = await apiJson<Record<string, unknown>>(page, '/api/v1/sync/status')
    const threeHoursAgo = new Date(Date.now() - 3 * 3600_000).toISOString()
    await page.route('**/api/v1/sync/status*', (r) =>
      r.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({ ...status, lastSuccessAt: threeHoursAgo, runningRunId: null }),
      }),
    )
    try {
      await page.goto(`${server.url}/?view=deals`)
      const badge = page.getByTestId('freshness')
      await badge.waitFor()
      await expect
        .poll(async () => (await badge.textContent())?.replace(/\s+/g, ' '))
        .toMatch(/As of .* ago · stale$/)
    } finally {
      await page.unroute('**/api/v1/sync/status*')
    }
    await page.reload()
    await page.getByTestId('freshness').waitFor()
    expect(await page.getByTestId('freshness').textContent()).not.toContain('stale')
  })

  it('announces loading as a status and a failure as an alert', async () => {
    await page.route('**/api/v1/deals?*', async (r) => {
      await new Promise((res) => setTimeout(res, 1500))
      await r.fulfill({
        status: 500,
        contentType: 'application/json',
        body: JSON.stringify({
          error: { code: 'INTERNAL', message: 'Database unavailable', requestId: 'r1' },
        }),
      })
    })
    try {
      await page.goto(`${server.url}/?view=deals`)
      await page.getByRole('status').filter({ hasText: 'Loading' }).first().waitFor()
      await page.getByRole('alert').filter({ hasText: 'Database unavailable' }).waitFor()
    } finally {
      await page.unroute('**/api/v1/deals?*')
    }
  })
})
