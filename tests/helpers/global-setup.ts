import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import type { TestProject } from 'vitest/node'
import { connectPglite } from '../../api/src/db/pglite'
import { connectPostgres } from '../../api/src/db/client'
import { runMigrations } from '../../api/src/db/migrate'

/**
 * Once per run: a migrated PGlite data dump (each suite loads it in ~0.5 s) and, when
 * TEST_DATABASE_URL is set, a migrated PostgreSQL template database (each suite clones it).
 */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'pp-test-'))
  const pg = await connectPglite()
  await runMigrations(pg)
  const dump = await (
    pg as unknown as { client: { dumpDataDir(c: 'none'): Promise<Blob> } }
  ).client.dumpDataDir('none')
  writeFileSync(join(dir, 'template.tar'), Buffer.from(await dump.arrayBuffer()))
  await pg.close()
  project.provide('pgliteTemplate', join(dir, 'template.tar'))

  const url = process.env.TEST_DATABASE_URL
  if (!url) return
  const template = `pp_tmpl_${process.pid}`
  const admin = postgres(url, { max: 1, onnotice: () => {} })
  await admin.unsafe(`drop database if exists ${template}`)
  await admin.unsafe(`create database ${template}`)
  const tmpl = connectPostgres(withDatabase(url, template), { max: 1 })
  await runMigrations(tmpl)
  await tmpl.close()
  project.provide('pgTemplate', template)
  return async () => {
    const leftovers = await admin<
      { datname: string }[]
    >`select datname from pg_database where datname like ${template + '%'}`
    for (const { datname } of leftovers) await admin.unsafe(`drop database if exists ${datname} with (force)`)
    await admin.end()
  }
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url)
  u.pathname = `/${name}`
  return u.toString()
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string
    pgTemplate?: string
  }
}
