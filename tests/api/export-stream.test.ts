import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { sql, type SQL } from 'drizzle-orm'
import { PgDialect } from 'drizzle-orm/pg-core'
import { query, type Database, type Db } from '../../api/src/db/client'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { createTestApp } from '../helpers/app'
import { asUser } from '../helpers/auth'
import { parseCsv } from '../helpers/csv'
import { seedOrg, type SeedResult } from '../helpers/seed'

/*
 * The deals CSV of a big org over real HTTP: rows go out while later batches are still unread, a
 * client that stops reading stops the batches (memory stays at a batch or two, whatever the org's
 * size), one that leaves ends them, and a batch that fails after the 200 makes the download fail
 * rather than end early as a file that looks complete.
 */
const BULK = 12_000
const BATCH = 1000
/**
 * Long names (a batch of about 2 MB): loopback sockets and fetch buffer a few MB between a server
 * and a client that has stopped reading, which must stay well short of the whole file.
 */
const PAD = 2000

describe(`deals CSV of a big org, streamed (${testDbKind})`, () => {
  let database: Database
  let seed: SeedResult
  let total: number
  /** Export batch queries run so far (the statement is the only one selecting d.fx_source). */
  let batches = 0
  /** Set to a batch number (1 = the first) to make that batch fail, as a lost connection would. */
  let failBatch = 0
  let app: ReturnType<typeof createTestApp>
  let server: ServerType
  let url: string
  let headers: Record<string, string>

  beforeAll(async () => {
    database = await createTestDatabase()
    seed = await seedOrg(database.db)
    // Copies of one seeded deal under new 19-digit ids, all in the admin's scope.
    await database.db.execute(
      sql`insert into deals (org_id, id, name, stage, state, pipeline, owner_id, owner_name, currency, amount,
                             amount_sgd, weighted_sgd, effective_probability, fx_rate, fx_date, fx_source,
                             closing_date, created_time, modified_time)
          select d.org_id, (8000000000000000000 + g)::text, 'Bulk deal ' || g || ' ' || repeat('x', ${PAD}), d.stage, d.state, d.pipeline,
                 d.owner_id, d.owner_name, d.currency, d.amount, d.amount_sgd, d.weighted_sgd,
                 d.effective_probability, d.fx_rate, d.fx_date, d.fx_source, d.closing_date,
                 d.created_time, d.modified_time
          from generate_series(1, ${BULK}) g,
               (select * from deals where org_id = ${seed.orgId} and amount_sgd is not null order by id limit 1) d`,
    )
    const [n] = await query<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from deals where org_id = ${seed.orgId}`,
    )
    total = n!.n
    const dialect = new PgDialect()
    const db = new Proxy(database.db, {
      get(target, prop) {
        if (prop === 'execute')
          return (q: SQL) => {
            if (!dialect.sqlToQuery(q).sql.includes('d.fx_source')) return target.execute(q)
            batches++
            return batches === failBatch
              ? Promise.reject(new Error('terminating connection due to administrator command'))
              : target.execute(q)
          }
        const v = Reflect.get(target, prop, target)
        return typeof v === 'function' ? v.bind(target) : v
      },
    }) as Db
    app = createTestApp({ ...database, db }, {}, { now: () => seed.now })
    headers = await asUser(app.config, seed.orgId, seed.users.admin)
    url = await new Promise<string>((resolve) => {
      server = serve({ fetch: app.app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
        resolve(`http://127.0.0.1:${info.port}/api/v1/exports/deals.csv`),
      )
    })
  })
  afterAll(async () => {
    // Keep-alive sockets would hold close() open.
    const http = server as Server | undefined
    if (http) {
      http.closeAllConnections()
      await new Promise((r) => http.close(r))
    }
    await database?.close()
  })

  /** Ends a test's download however the test ended, so no stream runs on into the next test. */
  let after = async () => {}
  afterEach(async () => {
    await after().catch(() => {})
    after = async () => {}
  })

  const settle = () => new Promise((r) => setTimeout(r, 1000))
  const allBatches = () => Math.floor(total / BATCH) + 1

  it('sends the first rows while most batches are unread, and reads no further while the client does not', async () => {
    batches = 0
    const res = await fetch(url, { headers })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    after = () => reader.cancel()
    const first = await reader.read()
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true })
    let text = decoder.decode(first.value, { stream: true })
    expect(text.startsWith('\ufeffid,name,')).toBe(true)
    // The client holds off: the socket's buffers fill and the server stops reading batches.
    await settle()
    const whilePaused = batches
    await settle()
    expect(batches).toBe(whilePaused)
    expect(whilePaused).toBeLessThan(allBatches() / 2)
    // Then it reads on, and gets every deal once.
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      text += decoder.decode(value, { stream: true })
    }
    const rows = parseCsv(text.slice(1)).slice(1)
    expect(rows.length).toBe(total)
    expect(new Set(rows.map((r) => r[0])).size).toBe(total)
    expect(batches).toBe(allBatches())
  })

  it('a client that leaves mid-download ends the export: no more batches are read', async () => {
    batches = 0
    const controller = new AbortController()
    const res = await fetch(url, { headers, signal: controller.signal })
    after = async () => controller.abort()
    const reader = res.body!.getReader()
    await reader.read()
    controller.abort()
    await settle()
    const afterLeaving = batches
    await settle()
    expect(batches).toBe(afterLeaving)
    expect(afterLeaving).toBeLessThan(allBatches() / 2)
  })

  it('a batch that fails after the first rows are out fails the download, never a short file that looks whole', async () => {
    batches = 0
    failBatch = 3
    try {
      const res = await fetch(url, { headers })
      expect(res.status).toBe(200)
      // The connection is cut without the body's end: reading it fails, as a browser's download
      // does, after at most the rows of the batches that were read (and no error text).
      const reader = res.body!.getReader()
      const decoder = new TextDecoder()
      let text = ''
      const read = async () => {
        for (;;) {
          const { value, done } = await reader.read()
          if (done) return
          text += decoder.decode(value, { stream: true })
        }
      }
      await expect(read()).rejects.toThrow()
      expect(parseCsv(text).length - 1).toBeLessThanOrEqual(2 * BATCH)
      expect(text).not.toContain('administrator command')
    } finally {
      failBatch = 0
    }
    // In process too (the Workers runtime gets the same errored stream).
    batches = 0
    failBatch = 2
    try {
      const res = await app.app.request('/api/v1/exports/deals.csv', { headers })
      expect(res.status).toBe(200)
      await expect(res.text()).rejects.toThrow('administrator command')
    } finally {
      failBatch = 0
    }
  })
})
