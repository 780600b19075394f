import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testDbKind } from '../helpers/db'
import { withDatabase } from '../helpers/global-setup'
import { freePort } from '../helpers/net'

/** The Node entry as `npm start` runs it, on an EMPTY database: it must migrate, serve and log. */
describe(`node entry (${testDbKind})`, () => {
  let child: ChildProcess
  let url: string
  let out = ''
  let cleanup: () => Promise<void> = async () => {}

  beforeAll(async () => {
    const port = await freePort()
    const env: Record<string, string> = { PORT: String(port), LOG_LEVEL: 'info', SCHEDULER: 'false' }
    if (testDbKind === 'pglite') {
      const dir = mkdtempSync(join(tmpdir(), 'pp-node-'))
      env.DATA_DIR = dir
      cleanup = async () => rmSync(dir, { recursive: true, force: true })
    } else {
      const name = `pp_empty_${process.pid}_${Date.now()}`
      const admin = postgres(process.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} })
      await admin.unsafe(`create database ${name}`)
      env.DATABASE_URL = withDatabase(process.env.TEST_DATABASE_URL!, name)
      cleanup = async () => {
        await admin.unsafe(`drop database if exists ${name} with (force)`)
        await admin.end()
      }
    }
    child = spawn(process.execPath, ['--import', 'tsx', 'api/src/node.ts'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout!.on('data', (d) => (out += d))
    child.stderr!.on('data', (d) => (out += d))
    url = `http://127.0.0.1:${port}`
    const deadline = Date.now() + 90_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${out}`)
      const ok = await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
      if (ok) break
      if (Date.now() > deadline) throw new Error(`not ready: ${out}`)
      await new Promise((r) => setTimeout(r, 250))
    }
  }, 120_000)

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
    }
    await cleanup()
  })

  it('applies migrations at start and reports ready', async () => {
    const ready = (await (await fetch(`${url}/readyz`)).json()) as {
      migrations: { applied: number; expected: number }
    }
    expect(ready.migrations.applied).toBe(ready.migrations.expected)
  })

  it('logs one JSON line per request without secrets, and exposes Prometheus metrics', async () => {
    const res = await fetch(`${url}/healthz?code=SECRET-CODE-123`, {
      headers: { cookie: 'pp_session=SECRET-COOKIE-456' },
    })
    expect(res.status).toBe(200)
    const requestId = res.headers.get('x-request-id')!
    await new Promise((r) => setTimeout(r, 200))
    const line = out.split('\n').find((l) => l.includes(requestId))!
    expect(JSON.parse(line)).toMatchObject({
      level: 'info',
      msg: 'request',
      method: 'GET',
      path: '/healthz',
      status: 200,
    })
    expect(out).not.toContain('SECRET-CODE-123')
    expect(out).not.toContain('SECRET-COOKIE-456')
    const metrics = await (await fetch(`${url}/metrics`)).text()
    expect(metrics).toContain('# TYPE http_requests_total counter')
    expect(metrics).toMatch(/http_requests_total\{method="GET",route="\/healthz",status="200"\} [1-9]/)
    expect(metrics).toMatch(
      /http_request_duration_seconds_bucket\{method="GET",route="\/healthz",le="\+Inf"\} [1-9]/,
    )
  })

  it('serves the demo on loopback only: its sign-in page lets anyone in as any sandbox user', () => {
    const line = out.split('\n').find((l) => l.includes('"msg":"listening"'))!
    expect(JSON.parse(line)).toMatchObject({ host: '127.0.0.1', demo: true })
  })

  it('says in one line that the port is taken, instead of a stack trace', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'api/src/node.ts'], {
      env: {
        ...process.env,
        PORT: new URL(url).port,
        HOST: '127.0.0.1',
        SCHEDULER: 'false',
        DATA_DIR: mkdtempSync(join(tmpdir(), 'pp-port-')),
      },
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect(r.status).toBe(2)
    expect(r.stderr.trim().split('\n')).toEqual([
      `Port ${new URL(url).port} on 127.0.0.1 is already in use: stop what holds it, or set PORT`,
    ])
  })

  it('stops at start-up with one line naming a bad variable', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'api/src/node.ts'], {
      env: { ...process.env, PORT: 'eighty' },
      encoding: 'utf8',
    })
    expect(r.status).toBe(2)
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^Invalid configuration: PORT: /)])
    // A cron the scheduler cannot read stops the start, not the first tick.
    const cron = spawnSync(process.execPath, ['--import', 'tsx', 'api/src/node.ts'], {
      env: { ...process.env, CURRENCY_UPDATE_SCHEDULE: '0 0 * * FOO' },
      encoding: 'utf8',
    })
    expect(cron.status).toBe(2)
    expect(cron.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^Invalid configuration: CURRENCY_UPDATE_SCHEDULE: not a valid cron pattern/),
    ])
  })
})
