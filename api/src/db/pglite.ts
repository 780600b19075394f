import { mkdirSync, openSync, closeSync, writeFileSync, readFileSync, unlinkSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { PGlite, types } from '@electric-sql/pglite'
import { drizzle } from 'drizzle-orm/pglite'
import { schema, type Database, type Db } from './client'

/*
 * Embedded PGlite, Node only (it cannot run in workerd). Durability decision: the data folder is
 * treated as a cache that a full sync rebuilds; Zoho stays the source of truth. It opens with
 * relaxed durability off so a clean shutdown is always complete.
 */

/** int8 as string, like postgres.js, so raw results look the same on both drivers. */
const parsers = { [types.INT8]: (v: string) => v }

const openInThisProcess = new Set<string>()

/** Guard: PGlite does not stop a second opener of the same folder (process or instance), which corrupts it. */
function acquireLock(dataDir: string): () => void {
  const lockPath = join(dataDir, 'pipeline-pulse.lock')
  if (openInThisProcess.has(lockPath))
    throw new Error(`Database folder ${dataDir} is already open in this process`)
  if (existsSync(lockPath)) {
    const pid = Number(readFileSync(lockPath, 'utf8'))
    let alive = false
    try {
      if (pid) process.kill(pid, 0)
      alive = pid > 0
    } catch {
      alive = false
    }
    if (alive && pid !== process.pid)
      throw new Error(`Database folder ${dataDir} is in use by process ${pid}; stop it or set DATA_DIR`)
    unlinkSync(lockPath)
  }
  const fd = openSync(lockPath, 'wx')
  writeFileSync(fd, String(process.pid))
  closeSync(fd)
  openInThisProcess.add(lockPath)
  return () => {
    openInThisProcess.delete(lockPath)
    try {
      unlinkSync(lockPath)
    } catch {
      /* already gone */
    }
  }
}

/**
 * Creates a new data folder (initdb) in a short-lived child process. PGlite's initdb grows its
 * WebAssembly memory to about 870 MB, and a WebAssembly memory never shrinks: created in-process,
 * the server (or sync) would keep that RSS for its whole life. Opened afterwards it starts at
 * about 350 MB (a full sync of 100,000 deals then peaks at about 400 MB).
 */
async function createDataDir(dataDir: string): Promise<void> {
  const script = `const { PGlite } = await import(process.argv[1]);
    const db = await PGlite.create({ dataDir: process.argv[2] });
    await db.close();`
  const child = spawn(
    process.execPath,
    ['--input-type=module', '-e', script, import.meta.resolve('@electric-sql/pglite'), dataDir],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d))
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', resolve)
  })
  if (code !== 0)
    throw new Error(`Could not create the database folder ${dataDir}: ${stderr.trim() || `exit ${code}`}`)
}

/** PGlite in a data folder (or in memory with dataDir undefined). */
export async function connectPglite(dataDir?: string, loadDataDir?: Blob): Promise<Database> {
  let release = () => {}
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true })
    release = acquireLock(dataDir)
  }
  try {
    if (dataDir && !loadDataDir && !existsSync(join(dataDir, 'PG_VERSION'))) await createDataDir(dataDir)
    const client = await PGlite.create({ dataDir, loadDataDir, parsers })
    const db = drizzle({ client, schema }) as unknown as Db
    return {
      db,
      kind: 'pglite',
      client,
      close: async () => {
        await client.close()
        release()
      },
    } as Database & { client: PGlite }
  } catch (e) {
    release()
    throw e
  }
}

export type { Db }
