import { Hono } from 'hono'
import { dropMidBody, type SandboxEnv } from './http'
import type { Faults } from './faults'
import { fxRatesFor } from './fx-rates'

/** Currency Freaks v2.0 as the sandbox serves it (mounted at /v2.0). */
export interface FxState {
  apiKey: string
  plan: 'paid' | 'free'
  /** Requests allowed before every further one gets 429. */
  quota: number
  used: number
  seed: number
  now: () => Date
  faults: Faults
}

const DATE = /^\d{4}-\d{2}-\d{2}$/

function stamp(d: Date): string {
  return `${d.toISOString().slice(0, 19).replace('T', ' ')}+00`
}

function select(rates: Record<string, string>, base: string, symbols: string | undefined) {
  let out = rates
  if (base !== 'USD') {
    const b = Number(rates[base])
    out = Object.fromEntries(
      Object.entries(rates).map(([k, v]) => [k, k === base ? '1.0' : String(Number(v) / b)]),
    )
  }
  if (!symbols) return out
  const wanted = symbols
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean)
  return Object.fromEntries(wanted.filter((s) => s in out).map((s) => [s, out[s]!]))
}

export function fxApp(state: FxState): Hono<SandboxEnv> {
  const app = new Hono<SandboxEnv>()

  app.use('/v2.0/*', async (c, next) => {
    const faulty = state.faults.applies('fx')
    if (faulty && state.faults.config.latencyMs)
      await new Promise((r) => setTimeout(r, state.faults.config.latencyMs))
    const fate = faulty ? state.faults.next() : 'none'
    if (fate === '429') return c.json({ error: 'Too many requests. Please slow down.' }, 429)
    if (fate === '5xx') return c.json({ error: 'Internal Server Error' }, 500)
    await next()
    if (fate === 'drop') await dropMidBody(c)
  })

  app.use('/v2.0/*', async (c, next) => {
    if (c.req.query('apikey') !== state.apiKey) return c.json({ error: 'Invalid API Key' }, 401)
    state.used++
    if (state.used > state.quota)
      return c.json({ error: 'You have exceeded your monthly API request quota.' }, 429)
    await next()
  })

  app.get('/v2.0/rates/latest', (c) => {
    const base = (c.req.query('base') ?? 'USD').toUpperCase()
    const now = state.now()
    const rates = fxRatesFor(now.toISOString().slice(0, 10), state.seed)
    if (!(base in rates)) return c.json({ error: `Base currency ${base} is not supported.` }, 400)
    if (base !== 'USD' && state.plan === 'free')
      return c.json({ error: 'Changing the base currency is not available on the free plan.' }, 403)
    return c.json({ date: stamp(now), base, rates: select(rates, base, c.req.query('symbols')) })
  })

  app.get('/v2.0/rates/historical', (c) => {
    if (state.plan === 'free')
      return c.json({ error: 'Historical rates are not available on your current plan.' }, 403)
    const date = c.req.query('date') ?? ''
    const base = (c.req.query('base') ?? 'USD').toUpperCase()
    if (!DATE.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`)))
      return c.json({ error: 'Invalid date. Use the format YYYY-MM-DD.' }, 400)
    if (date > state.now().toISOString().slice(0, 10))
      return c.json({ error: 'Date must not be in the future.' }, 400)
    const rates = fxRatesFor(date, state.seed)
    if (!(base in rates)) return c.json({ error: `Base currency ${base} is not supported.` }, 400)
    return c.json({
      date: `${date} 00:00:00+00`,
      base,
      rates: select(rates, base, c.req.query('symbols')),
    })
  })

  app.notFound((c) => c.json({ error: 'Not found' }, 404))
  return app
}
