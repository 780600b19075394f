import { mkdirSync, openSync, closeSync, writeFileSync, readFileSync, unlinkSync, existsSync } from 'node:fs'
import { join } from 'node:path'
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

/** PGlite in a data folder (or in memory with dataDir undefined). */
export async function connectPglite(dataDir?: string, loadDataDir?: Blob): Promise<Database> {
  let release = () => {}
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true })
    release = acquireLock(dataDir)
  }
  try {
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
