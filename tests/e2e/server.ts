import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions } from 'playwright-core'
import { freePort } from '../helpers/net'

export { freePort }

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const ARTIFACTS = join(process.cwd(), 'test-artifacts')

export interface RunningServer {
  url: string
  stop(): Promise<void>
  output(): string
}

/** Starts the product as `npm start` does (web view already built by test:e2e) on a fresh data folder. */
export async function startServer(env: Record<string, string> = {}): Promise<RunningServer> {
  const port = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), 'pp-e2e-'))
  let out = ''
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'api/src/node.ts'], {
    env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 170_000 // under the 180 s hook timeout; a loaded machine starts slowly
  for (;;) {
    if (child.exitCode !== null) {
      rmSync(dataDir, { recursive: true, force: true })
      throw new Error(`server exited ${child.exitCode}:\n${out}`)
    }
    try {
      const r = await fetch(`${url}/readyz`)
      if (r.ok) break
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      // Never leave an orphan server behind.
      child.kill('SIGKILL')
      rmSync(dataDir, { recursive: true, force: true })
      throw new Error(`server did not become ready:\n${out}`)
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  return {
    url,
    output: () => out,
    stop: async () => {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

export interface ServerAndBrowser {
  /** The running server: read `url` inside tests and hooks. */
  server: RunningServer
  /** A new browser context, 1280×900 unless `options` say otherwise; closed after the file's tests. */
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>
  /** The control API of the demo's sandbox Zoho org (with `demoSandbox`). */
  sandboxUrl(): string
}

/**
 * The server (started with `env`) and a browser for a test file: registers the hooks that start
 * them before its tests and close them, with every context `newContext` opened, after.
 * `demoSandbox`: the demo's sandbox Zoho org listens on a port of its own, at `sandboxUrl()`.
 */
export function serverAndBrowser(
  env: Record<string, string> = {},
  { demoSandbox = false } = {},
): ServerAndBrowser {
  let server: RunningServer | undefined
  let browser: Browser | undefined
  let sandboxUrl: string | undefined
  const contexts: BrowserContext[] = []
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`no ${what} yet: use it inside a test or hook`)
    return value
  }
  beforeAll(async () => {
    const extra: Record<string, string> = {}
    if (demoSandbox) {
      const port = await freePort()
      sandboxUrl = `http://127.0.0.1:${port}/__sandbox`
      extra.DEMO_SANDBOX_PORT = String(port)
    }
    server = await startServer({ ...env, ...extra })
    browser = await launchBrowser()
  })
  afterAll(async () => {
    for (const c of contexts) {
      // Pages may still be fetching through a context's routes (the CRM stand-in): let those go quietly.
      await c.unrouteAll({ behavior: 'ignoreErrors' }).catch(() => {})
      await c.close().catch(() => {})
    }
    await browser?.close()
    await server?.stop()
  })
  const running = () => started(server, 'server')
  return {
    server: {
      get url() {
        return running().url
      },
      stop: () => running().stop(),
      output: () => running().output(),
    },
    newContext: async (options = {}) => {
      const c = await started(browser, 'browser').newContext({
        viewport: { width: 1280, height: 900 },
        ...options,
      })
      contexts.push(c)
      return c
    },
    sandboxUrl: () => started(sandboxUrl, 'demo sandbox (option demoSandbox)'),
  }
}
