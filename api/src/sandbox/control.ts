import { Hono } from 'hono'
import { z } from 'zod'
import type { SandboxEnv } from './http'
import type { FaultConfig } from './faults'

/** /__sandbox/*: the mutation, fault and call-log API for other processes (bench, e2e). */
export interface ControlTarget {
  info(): Record<string, unknown>
  issueRefreshToken(userId?: string, scopes?: string[]): string
  setFaults(f: FaultConfig): void
  calls: unknown[]
  resetCalls(): void
  editDeal(id: string, changes: Record<string, unknown>): void
  deleteDeal(id: string, type?: string): void
  createDeal(fields?: Record<string, unknown>): string
  mutateRandom(n: { edits?: number; deletes?: number; creates?: number }, seed?: number): unknown
  expireAccessTokens(): void
  expirePageTokens(): void
  setCreditsLeft(n: number): void
  refuseStageHistory(refuse: boolean): void
  removeStage(value: string): void
}

const faultSchema = z
  .object({
    rate429: z.number().min(0).max(1),
    rate5xx: z.number().min(0).max(1),
    expireTokenEveryCalls: z.number().int().min(1),
    latencyMs: z.number().int().min(0),
    dropConnectionEvery: z.number().int().min(1),
    seed: z.number().int(),
    services: z.array(z.enum(['crm', 'fx', 'accounts'])),
  })
  .partial()

const mutateSchema = z.object({
  edits: z.number().int().min(0).optional(),
  deletes: z.number().int().min(0).optional(),
  creates: z.number().int().min(0).optional(),
  seed: z.number().int().optional(),
})

export function controlApp(t: ControlTarget): Hono<SandboxEnv> {
  const app = new Hono<SandboxEnv>().basePath('/__sandbox')
  app.onError((err, c) => c.json({ error: err instanceof z.ZodError ? err.issues : err.message }, 400))

  app.get('/info', (c) => c.json(t.info()))
  app.post('/refresh-token', async (c) => {
    const body = z
      .object({ userId: z.string().optional(), scopes: z.array(z.string()).optional() })
      .parse(await c.req.json().catch(() => ({})))
    return c.json({ refresh_token: t.issueRefreshToken(body.userId, body.scopes) })
  })
  app.put('/faults', async (c) => {
    t.setFaults(faultSchema.parse(await c.req.json()))
    return c.json({ ok: true })
  })
  app.get('/calls', (c) => c.json({ calls: t.calls }))
  app.delete('/calls', (c) => {
    t.resetCalls()
    return c.json({ ok: true })
  })
  app.post('/deals', async (c) => {
    const fields = z.record(z.string(), z.unknown()).parse(await c.req.json().catch(() => ({})))
    return c.json({ id: t.createDeal(fields) }, 201)
  })
  app.patch('/deals/:id', async (c) => {
    t.editDeal(c.req.param('id'), z.record(z.string(), z.unknown()).parse(await c.req.json()))
    return c.json({ ok: true })
  })
  app.delete('/deals/:id', (c) => {
    t.deleteDeal(c.req.param('id'), c.req.query('type') === 'permanent' ? 'permanent' : 'recycle')
    return c.json({ ok: true })
  })
  app.post('/mutate', async (c) => {
    const { seed, ...n } = mutateSchema.parse(await c.req.json())
    return c.json(t.mutateRandom(n, seed))
  })
  app.put('/credits', async (c) => {
    const { left } = z.object({ left: z.number().int().min(0) }).parse(await c.req.json())
    t.setCreditsLeft(left)
    return c.json({ ok: true })
  })
  // Zoho refuses (or answers again) every Stage_History call, as for a list hidden in the org.
  app.put('/stage-history', async (c) => {
    const { refuse } = z.object({ refuse: z.boolean() }).parse(await c.req.json())
    t.refuseStageHistory(refuse)
    return c.json({ ok: true })
  })
  app.post('/expire-access-tokens', (c) => {
    t.expireAccessTokens()
    return c.json({ ok: true })
  })
  // An admin removes a value from the Stage picklist; deals in it keep it as their Stage.
  app.delete('/stages/:value', (c) => {
    t.removeStage(c.req.param('value'))
    return c.json({ ok: true })
  })
  app.post('/expire-page-tokens', (c) => {
    t.expirePageTokens()
    return c.json({ ok: true })
  })
  return app
}
