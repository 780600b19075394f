import { beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { serverAndBrowser } from './server'
import { settled, signIn, waitForSync } from './helpers'

/*
 * The Deals list's Previous trail lives in the URL: after paging forward and reloading (or going
 * Back in the browser), Previous still steps back one page at a time to the rows seen before.
 */

const { server, newContext } = serverAndBrowser()
let page: Page

beforeAll(async () => {
  page = await signIn(await newContext(), server.url, 'manager')
  await waitForSync(page)
})

/** The deals shown, by their Open-in-Zoho links (which carry the deal ids). */
const rows = () =>
  page
    .locator('[data-testid=deals-table] tbody tr a')
    .evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href).join('\n'))

async function click(name: 'Next' | 'Previous', expected?: string) {
  const before = await rows()
  await page.getByRole('button', { name }).click()
  if (expected === undefined) await expect.poll(rows).not.toBe(before)
  else await expect.poll(rows).toBe(expected)
  await settled(page)
}

describe('deals list pages', () => {
  it('keeps Previous working after a reload and the back button', async () => {
    await page.goto(server.url + '/?view=deals')
    await page.getByTestId('deals-table').waitFor()
    await settled(page)
    const page1 = await rows()
    await click('Next')
    const page2 = await rows()
    await click('Next')
    const page3 = await rows()
    expect(new Set([page1, page2, page3]).size).toBe(3)

    await page.reload()
    await page.getByTestId('deals-table').waitFor()
    await expect.poll(rows).toBe(page3)
    await click('Previous', page2)
    await click('Previous', page1)
    expect(await page.getByRole('button', { name: 'Previous' }).isDisabled()).toBe(true)

    // Back to page 3 through the browser's history, then Previous again from there.
    await page.goBack()
    await expect.poll(rows).toBe(page2)
    await page.goBack()
    await expect.poll(rows).toBe(page3)
    await click('Previous', page2)
  })

  it('starts over from the first page when a filter changes', async () => {
    await page.goto(server.url + '/?view=deals')
    await page.getByTestId('deals-table').waitFor()
    await settled(page)
    await click('Next')
    await click('Next')
    await page.getByLabel('Owner').selectOption({ index: 1 })
    await expect.poll(() => new URL(page.url()).searchParams.get('owner')).not.toBe(null)
    const params = new URL(page.url()).searchParams
    expect([params.get('cursor'), params.getAll('prev')]).toEqual([null, []])
    await settled(page)
    expect(await page.getByRole('button', { name: 'Previous' }).isDisabled()).toBe(true)
  })

  it("leaves a list's place behind when another view is opened from the menu", async () => {
    const nav = (name: string) => page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name })
    const place = () => {
      const params = new URL(page.url()).searchParams
      return [params.get('cursor'), params.getAll('prev'), params.get('shown')]
    }
    await page.goto(server.url + '/?view=deals')
    await page.getByTestId('deals-table').waitFor()
    await settled(page)
    const page1 = await rows()
    await click('Next')
    await click('Next')

    // Deals' page 3 does not ride along to Risk, nor come back with the next visit to Deals.
    await nav('Stale & at risk').click()
    await expect.poll(() => new URL(page.url()).searchParams.get('view')).toBe('risk')
    expect(place()).toEqual([null, [], null])
    await page.getByTestId('risk-table').waitFor()
    // Risk's "Show more" (`shown`) stays with Risk too.
    await page.goto(server.url + '/?view=risk&shown=100')
    await page.getByTestId('risk-table').waitFor()
    expect(await nav('Deals').getAttribute('href')).not.toContain('shown')
    await nav('Deals').click()
    await expect.poll(() => new URL(page.url()).searchParams.get('view')).toBe('deals')
    expect(place()).toEqual([null, [], null])
    await expect.poll(rows).toBe(page1)
    expect(await page.getByRole('button', { name: 'Previous' }).isDisabled()).toBe(true)
  })
})
