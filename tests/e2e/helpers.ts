import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { ARTIFACTS } from './server'

export type Role = 'admin' | 'manager' | 'rep'

/** Fetch the API from the page, with the page's own session (cookie), and return JSON. */
export async function apiJson<T = any>(
  page: Page,
  path: string,
  init?: { method?: string; body?: unknown },
): Promise<T> {
  return page.evaluate(
    async ({ path, init }) => {
      const res = await fetch(path, {
        method: init?.method ?? 'GET',
        headers: init?.body === undefined ? {} : { 'content-type': 'application/json' },
        body: init?.body === undefined ? undefined : JSON.stringify(init.body),
      })
      const text = await res.text()
      if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${path} → ${res.status} ${text}`)
      return JSON.parse(text)
    },
    { path, init },
  )
}

/** A new widget sign-in secret for the admin's org (Settings → Widget sign-in), as the CRM function holds it. */
export async function newWidgetSecret(admin: Page): Promise<string> {
  return (
    await apiJson<{ secret: string }>(admin, '/api/v1/admin/widget-secret', { method: 'POST', body: {} })
  ).secret
}

async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  ms = 150_000,
): Promise<T> {
  const deadline = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v) return v
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`)
    await new Promise((r) => setTimeout(r, 1000))
  }
}

/**
 * Signs in through the demo sign-in page (the real OAuth flow against the sandbox accounts server)
 * as the first user with this role, once the first sync has brought the users in.
 */
export async function signIn(context: BrowserContext, baseUrl: string, role: Role): Promise<Page> {
  const page = await context.newPage()
  const link = await until(`a ${role} on the demo sign-in page`, async () => {
    await page.goto(`${baseUrl}/auth/demo`)
    const links = page
      .locator('a.user')
      .filter({ has: page.locator('.role', { hasText: new RegExp(`^${role}$`) }) })
    return (await links.count()) > 0 ? links.first() : null
  })
  await link.click()
  await page.waitForURL((u) => !u.pathname.startsWith('/auth'), { timeout: 60_000 })
  await page.getByTestId('whoami').waitFor({ timeout: 60_000 })
  return page
}

/** The demo server runs a first sync at start: wait until one has succeeded. */
export async function waitForSync(page: Page): Promise<void> {
  await until('a successful sync', async () => {
    const s = await apiJson<{ lastSuccessAt: string | null }>(page, '/api/v1/sync/status')
    return s.lastSuccessAt
  })
}

/** Creates a deal in the demo's sandbox Zoho CRM (its control API at `sandboxUrl`); returns its id. */
export async function createSandboxDeal(
  sandboxUrl: string,
  fields: Record<string, unknown>,
): Promise<string> {
  const r = await fetch(`${sandboxUrl}/deals`, { method: 'POST', body: JSON.stringify(fields) })
  if (r.status !== 201) throw new Error(`create deal: ${r.status} ${await r.text()}`)
  return ((await r.json()) as { id: string }).id
}

/** Runs an incremental sync as `admin` (POST /api/v1/sync, once none runs) and waits for it to succeed. */
export async function syncNow(admin: Page): Promise<void> {
  await until('no sync running', async () => {
    const s = await apiJson<{ runningRunId: string | null }>(admin, '/api/v1/sync/status')
    return s.runningRunId === null
  })
  const { runId } = await apiJson<{ runId: string }>(admin, '/api/v1/sync', {
    method: 'POST',
    body: { kind: 'incremental' },
  })
  await until(`sync run ${runId} to succeed`, async () => {
    const { runs } = await apiJson<{ runs: { id: string; status: string }[] }>(admin, '/api/v1/sync/runs')
    const status = runs.find((r) => r.id === runId)?.status
    if (status === 'failed') throw new Error(`sync run ${runId} failed`)
    return status === 'succeeded'
  })
}

/** Waits until no loading indicator is left (view chunks, data, charts). */
export async function settled(page: Page): Promise<void> {
  await page.waitForLoadState('networkidle')
  await page
    .locator('[role=status] .spinner')
    .first()
    .waitFor({ state: 'detached', timeout: 60_000 })
    .catch(() => {})
  await page.waitForTimeout(300)
}

export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
}

export { parseCsv } from '../helpers/csv'

/** Text as a user reads it: non-breaking and repeated spaces collapsed. */
export const norm = (s: string | null) => (s ?? '').replace(/\s+/g, ' ').trim()
