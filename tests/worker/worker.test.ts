import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPostgresDatabaseUrl } from '../helpers/db'
import { startWranglerDev, type WranglerDev } from './wrangler'

describe('the Worker under wrangler dev, on PostgreSQL through Hyperdrive', () => {
  let worker: WranglerDev
  let db: { url: string; drop(): Promise<void> }
  beforeAll(async () => {
    db = await createPostgresDatabaseUrl()
    worker = await startWranglerDev(db.url, {
      APP_ENV: 'test',
      LOG_LEVEL: 'warn',
      SECRET_KEY: 'worker-test-secret-key-0123456789',
    })
  }, 120_000)
  afterAll(async () => {
    await worker?.stop()
    await db?.drop()
  })

  it('answers /healthz and /readyz (database reachable, migrations applied)', async () => {
    const live = await fetch(`${worker.url}/healthz`)
    expect(live.status).toBe(200)
    expect(live.headers.get('x-request-id')).toBeTruthy()
    const ready = await fetch(`${worker.url}/readyz`)
    expect(await ready.json()).toMatchObject({ status: 'ready', database: 'up' })
  })

  it('answers unknown API routes with the error envelope', async () => {
    const res = await fetch(`${worker.url}/api/v1/nope`)
    expect(res.status).toBe(404)
    const body = (await res.json()) as { error: { code: string; requestId: string } }
    expect(body.error.code).toBe('NOT_FOUND')
    expect(body.error.requestId).toBe(res.headers.get('x-request-id'))
  })
})
