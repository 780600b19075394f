import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { launchBrowser, startServer, type RunningServer } from './server'
import { apiJson, signIn } from './helpers'

/*
 * An org whose fiscal year starts in February: its quarters are Feb–Apr, May–Jul, Aug–Oct, Nov–Jan.
 * The page opened with no period, and the period presets, show the org's fiscal quarter and year
 * (what the API reports in /me), not the browser's calendar ones.
 */

let server: RunningServer
let browser: Browser

beforeAll(async () => {
  server = await startServer()
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

interface Period {
  from: string
  to: string
}
interface Me {
  org: { today: string; periods: { thisQuarter: Period; lastQuarter: Period; thisYear: Period } }
}

it('opens on the fiscal quarter, and the presets are fiscal quarters and year', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await signIn(context, server.url, 'admin')
  await apiJson(page, '/api/v1/settings', { method: 'PUT', body: { fiscalYearStartMonth: 2 } })
  const me = await apiJson<Me>(page, '/api/v1/me')
  const { thisQuarter, lastQuarter, thisYear } = me.org.periods
  // A February fiscal year never has calendar quarters: the check below cannot pass by chance.
  expect(thisQuarter.from.slice(5, 7)).toMatch(/^(02|05|08|11)$/)
  expect(thisYear.from.slice(5)).toBe('02-01')

  await page.goto(`${server.url}/?view=overview`)
  const from = page.getByLabel('Period from')
  const to = page.getByLabel('Period to')
  await expect.poll(() => from.inputValue()).toBe(thisQuarter.from)
  expect(await to.inputValue()).toBe(thisQuarter.to)
  await page.getByRole('button', { name: 'Last quarter' }).click()
  await expect.poll(() => from.inputValue()).toBe(lastQuarter.from)
  expect(await to.inputValue()).toBe(lastQuarter.to)
  await page.getByRole('button', { name: 'This year' }).click()
  await expect.poll(() => from.inputValue()).toBe(thisYear.from)
  expect(await to.inputValue()).toBe(thisYear.to)
  await context.close()
})
