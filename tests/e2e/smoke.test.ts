import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { launchBrowser, startServer, type RunningServer } from './server'

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

it('serves the web view at / from npm start', async () => {
  const page = await browser.newPage()
  await page.goto(server.url + '/')
  await expect(page.locator('h1')).toBeTruthy()
  expect(await page.title()).toBe('Pipeline Pulse')
})
