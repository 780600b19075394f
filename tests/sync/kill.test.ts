import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { connectPostgres, query, type Database } from '../../api/src/db/client'
import { connectPglite } from '../../api/src/db/pglite'
import { startSandbox, type Sandbox } from '../../api/src/sandbox'
import { compareWithTruth } from '../helpers/truth'
import { createPostgresDatabaseUrl, testDbKind } from '../helpers/db'
import { sandboxEnv } from './setup'

/** `npm run sync` really killed (SIGKILL) mid-sync, then run again: it resumes its run from the checkpoint. */

const N = 800
const PER_PAGE = 50

function runCli(env: Record<string, string>): {
  child: ChildProcess
  done: Promise<{ code: number | null; out: string }>
} {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'api/src/sync/cli.ts',
      '--per-page',
      String(PER_PAGE),
      '--history',
      '0',
      '--lease-seconds',
      '2',
    ],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let out = ''
  child.stdout!.on('data', (b) => (out += String(b)))
  child.stderr!.on('data', (b) => (out += String(b)))
  const done = new Promise<{ code: number | null; out: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, out })),
  )
  return { child, done }
}

describe(`npm run sync killed and restarted (${testDbKind})`, () => {
  let sb: Sandbox
  const cleanups: (() => Promise<void> | void)[] = []
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c()
  })

  it('resumes the same run and ends equal to Zoho', async () => {
    sb = await startSandbox({ deals: N, fxPlan: 'free', faults: { latencyMs: 40 } })
    cleanups.push(() => sb.close())
    const env: Record<string, string> = {
      ...sandboxEnv(sb),
      LOG_LEVEL: 'warn',
      ZOHO_REFRESH_TOKEN: sb.issueRefreshToken(),
    }
    let open: () => Promise<Database>
    if (testDbKind === 'postgres') {
      const pg = await createPostgresDatabaseUrl()
      cleanups.push(() => pg.drop())
      env.DATABASE_URL = pg.url
      open = async () => connectPostgres(pg.url, { max: 2 })
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'pp-kill-'))
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
      env.DATA_DIR = dir
      open = () => connectPglite(dir)
    }

    // First run: kill -9 once several Deals pages have been read.
    const first = runCli(env)
    const pagesRead = () => sb.calls.filter((c) => c.path === '/crm/v8/Deals' && c.status === 200).length
    const deadline = Date.now() + 150_000
    while (pagesRead() < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(pagesRead()).toBeGreaterThanOrEqual(6)
    first.child.kill('SIGKILL')
    const killed = await first.done
    expect(killed.code).toBeNull()
    const readBeforeKill = pagesRead()
    expect(readBeforeKill).toBeLessThan(Math.ceil(N / PER_PAGE))

    // Restart after the dead holder's lease (2 s) expired.
    await new Promise((r) => setTimeout(r, 2500))
    const second = await runCli(env).done
    expect(second.code, second.out).toBe(0)
    expect(second.out).toMatch(/succeeded, full, 800 records/)

    const database = await open()
    cleanups.push(() => database.close())
    const [run] = await query<{ n: number; records: number; read: number }>(
      database.db,
      sql`select count(*)::int as n, max(records)::int as records, max(records_read)::int as read from sync_runs`,
    )
    expect(run).toEqual({ n: 1, records: N, read: N }) // one run, resumed, every record counted once
    const orgId = sb.orgId
    const t = await compareWithTruth(database.db, orgId, sb.deals(), 'USD')
    expect(t.equal, t.diff).toBe(true)
    // Every page read once, plus at most the pages in flight (read, not committed) at the kill.
    expect(pagesRead()).toBeLessThanOrEqual(Math.ceil(N / PER_PAGE) + 2)
  }, 240_000)
})
