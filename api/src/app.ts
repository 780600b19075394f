import { Hono } from 'hono'
import { requestId } from 'hono/request-id'
import { handleError, errorBody } from './http/errors'
import type { AppDeps, AppEnv } from './http/types'
import { health } from './routes/health'

/**
 * The runtime-agnostic app. worker.ts and node.ts only wire a runtime to it.
 * Order: request id → per-request deps/db → access log → routes → one error envelope.
 */
export function createApp(deps: AppDeps) {
  const app = new Hono<AppEnv>()

  app.use('*', requestId())
  app.use('*', async (c, next) => {
    c.set('deps', deps)
    c.set('db', deps.database(c).db)
    const started = performance.now()
    await next()
    const ms = performance.now() - started
    const route = c.req.routePath
    // Path only: query strings can carry OAuth codes and states.
    deps.logger.info('request', {
      requestId: c.var.requestId,
      method: c.req.method,
      path: c.req.path,
      route,
      status: c.res.status,
      ms: Math.round(ms * 10) / 10,
    })
    deps.metrics?.inc('http_requests_total', { method: c.req.method, route, status: c.res.status })
    deps.metrics?.observe('http_request_duration_seconds', { method: c.req.method, route }, ms / 1000)
  })

  app.route('/', health)

  const api = new Hono<AppEnv>()
  app.route('/api/v1', api)

  app.notFound((c) => c.json(errorBody(c, 'NOT_FOUND', `No route for ${c.req.method} ${c.req.path}`), 404))
  app.onError(handleError)
  return app
}

export type App = ReturnType<typeof createApp>
