import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSandbox, type Sandbox } from '../../api/src/sandbox'
import { createPostgresDatabaseUrl, testDbKind } from '../helpers/db'
import { sandboxEnv } from './setup'

/** `npm run sync` as a cron would run it: the weekly rate set only when due, bad options refused. */
describe(`npm run sync (${testDbKind})`, () => {
  let sb: Sandbox
  const env: Record<string, string> = {}
  const cleanups: (() => Promise<void> | void)[] = []

  /** Spawned, not spawnSync: the sandbox answering it runs in this process. */
  const cli = (...args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'api/src/sync/cli.ts', '--history', '0', ...args],
        { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
      )
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d) => (stdout += d))
      child.stderr.on('data', (d) => (stderr += d))
      child.on('exit', (status) => resolve({ status, stdout, stderr }))
    })
  const latestCalls = () => sb.calls.filter((c) => c.service === 'fx' && c.path.endsWith('/rates/latest'))

  beforeAll(async () => {
    sb = await startSandbox({ deals: 300, fxPlan: 'free' })
    cleanups.push(() => sb.close())
    Object.assign(env, sandboxEnv(sb), { LOG_LEVEL: 'warn', ZOHO_REFRESH_TOKEN: sb.issueRefreshToken() })
    if (testDbKind === 'postgres') {
      const pg = await createPostgresDatabaseUrl()
      cleanups.push(() => pg.drop())
      env.DATABASE_URL = pg.url
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'pp-cli-'))
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
      env.DATA_DIR = dir
    }
  })
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c()
  })

  it('fetches the latest rate set on the first run only: later runs find it fresh', async () => {
    const first = await cli()
    expect(first.status, first.stdout + first.stderr).toBe(0)
    expect(latestCalls()).toHaveLength(1)
    const second = await cli()
    expect(second.status, second.stdout + second.stderr).toBe(0)
    const third = await cli()
    expect(third.status, third.stdout + third.stderr).toBe(0)
    expect(latestCalls()).toHaveLength(1)
  })

  it('refuses an option that is not a whole number before doing anything', async () => {
    sb.resetCalls()
    const r = await cli('--max-pages', 'abc')
    expect(r.status).toBe(2)
    expect(r.stderr.trim()).toBe('--max-pages must be a whole number, not "abc"')
    expect(sb.calls).toEqual([])
  })
})
