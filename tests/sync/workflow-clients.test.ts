import { describe, expect, it, vi } from 'vitest'

/**
 * The Cloudflare Workflow of a sync: every step.do opens its own postgres.js client over
 * Hyperdrive. Workers allow 6 open connections per invocation, so each client must be closed when
 * its step ends, also when the step fails (and is retried).
 */
const opened: { closed: boolean }[] = []
const outcomes: ('stopped' | 'done' | 'failed')[] = []

vi.mock('cloudflare:workers', () => ({
  WorkflowEntrypoint: class {
    constructor(
      readonly ctx: unknown,
      readonly env: unknown,
    ) {}
  },
}))
vi.mock('../../api/src/db/client', () => ({
  connectPostgres: () => {
    const c = { closed: false }
    opened.push(c)
    return {
      db: {},
      kind: 'postgres',
      close: async () => {
        c.closed = true
      },
    }
  },
}))
vi.mock('../../api/src/sync/run', () => ({
  runOrgSync: async () => {
    const status = outcomes.shift() ?? 'done'
    if (status === 'failed') return { status, error: 'Zoho said no' }
    return { status, error: null }
  },
}))

/** step.do as Workflows runs it: the callback, retried when it throws. */
const step = {
  do: async <T>(_name: string, _opts: unknown, fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn()
      } catch (err) {
        if (attempt >= 2) throw err
      }
    }
  },
}

describe('sync workflow database clients', () => {
  it('closes the client of every step, the failed attempts included', async () => {
    const { SyncWorkflow } = await import('../../api/src/sync/workflow')
    const env = { HYPERDRIVE: { connectionString: 'postgres://h/db' }, LOG_LEVEL: 'silent', APP_ENV: 'test' }
    const wf = new SyncWorkflow({} as never, env as never)
    outcomes.push('stopped', 'failed', 'stopped', 'stopped', 'done')
    const summary = await wf.run(
      { payload: { orgId: '1', trigger: 'cron' }, timestamp: new Date(), instanceId: 'i' } as never,
      step as never,
    )
    expect(summary).toMatchObject({ status: 'done' })
    expect(opened).toHaveLength(5)
    expect(opened.filter((c) => !c.closed)).toEqual([])
  })
})
