import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { freePort } from '../helpers/net'

export interface WranglerDev {
  url: string
  output(): string
  /** Fires a cron as Cloudflare would (wrangler dev's local trigger): its status, and on failure the Worker's log. */
  fireCron(cron: string): Promise<{ status: number; detail: string }>
  stop(): Promise<void>
}

/**
 * The real Worker under `wrangler dev` (workerd, offline), its Hyperdrive binding pointed at a local
 * PostgreSQL database. Vars are passed with --var; wrangler's own files stay out of $HOME.
 */
export async function startWranglerDev(
  databaseUrl: string,
  vars: Record<string, string>,
  opts: { persistTo?: string } = {},
): Promise<WranglerDev> {
  // wrangler 4.86 dev does not route /cdn-cgi/handler/scheduled to the Worker when [assets] is set
  // (it answers "exception" without calling it), so the test runs wrangler.toml minus [assets].
  // Production cron triggers reach the Worker directly; the real file is proven by the dry-run build.
  const toml = readFileSync('wrangler.toml', 'utf8')
  const config = toml.replace(/\[assets\][^[]*/, '').replace(/^main = "(.*)"$/m, 'main = "../$1"')
  const port = await freePort()
  // One file per instance: wrangler dev reloads when its config file is rewritten (another suite's).
  const configPath = `.wrangler/wrangler.test-${port}.toml`
  mkdirSync('.wrangler', { recursive: true })
  writeFileSync(configPath, config)
  const inspector = await freePort()
  const u = new URL(databaseUrl)
  if (!u.password) u.password = 'unused' // wrangler requires one; trust auth ignores it
  const args = [
    'wrangler',
    'dev',
    '-c',
    configPath,
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(inspector),
  ]
  // Its own local state (Workflow instances included), so none carries into another suite or run.
  if (opts.persistTo) args.push('--persist-to', opts.persistTo)
  for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`)
  let out = ''
  const child: ChildProcess = spawn('npx', args, {
    env: {
      ...process.env,
      CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: u.toString(),
      WRANGLER_SEND_METRICS: 'false',
      XDG_CONFIG_HOME: `${process.cwd()}/.wrangler/config`,
      WRANGLER_LOG_PATH: `${process.cwd()}/.wrangler/logs`,
      CI: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 90_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited ${child.exitCode}:\n${out}`)
    try {
      const r = await fetch(`${url}/healthz`)
      if (r.status === 200) break
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`wrangler dev did not start:\n${out}`)
    await new Promise((r) => setTimeout(r, 300))
  }
  return {
    url,
    output: () => out,
    fireCron: async (cron) => {
      const res = await fetch(`${url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(cron)}`)
      const body = await res.text()
      // A failure's log lines can trail the response.
      if (res.status !== 200) await new Promise((r) => setTimeout(r, 1500))
      return { status: res.status, detail: `${body}\n${out.slice(-4000)}` }
    },
    stop: async () => {
      try {
        process.kill(-child.pid!, 'SIGTERM')
      } catch {
        /* gone */
      }
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)))
      rmSync(configPath, { force: true })
    },
  }
}
