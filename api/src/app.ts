import { Hono } from 'hono'
import { requestId } from 'hono/request-id'
import { handleError, errorBody } from './http/errors'
import type { AppDeps, AppEnv } from './http/types'
import { health } from './routes/health'
import { pipeline } from './routes/pipeline'
import { forecast } from './routes/forecast'
import { trend } from './routes/trend'
import { waterfall } from './routes/waterfall'
import { funnel } from './routes/funnel'
import { risk } from './routes/risk'
import { quality } from './routes/quality'
import { deals } from './routes/deals'
import { exportsRoute } from './routes/exports'
import { settings } from './routes/settings'
import { openapi } from './routes/openapi'
import { sync } from './routes/sync'
import { zohoNotify } from './routes/zoho-notify'
import {
  TokenBuckets,
  authRateLimit,
  csrfGuard,
  rejectNulBytes,
  securityHeaders,
  widgetCors,
} from './auth/security'
import { authRoutes } from './routes/auth'
import { widgetAuth } from './routes/widget-auth'
import { admin } from './routes/admin'
import { auditRoutes } from './routes/audit'
import { fx } from './routes/fx'

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

  // Security (auth/security.ts): headers on every response, CORS for Zoho widget origins on the API,
  // per-IP token buckets on sign-in routes, Origin-checked CSRF for cookie-authenticated writes, no NULs.
  app.use('*', securityHeaders(deps.config))
  app.use('/api/*', widgetCors(deps.config))
  app.use('/auth/*', authRateLimit())
  app.use('/api/v1/auth/*', authRateLimit(new TokenBuckets(120, 120 / 60)))
  app.use('*', csrfGuard)
  app.use('*', rejectNulBytes)

  app.route('/', health)
  const signIn = authRoutes(deps.config)
  app.route('/auth', signIn.web)

  const api = new Hono<AppEnv>()
  api.route('/', signIn.api)
  api.route('/', widgetAuth)
  api.route('/', admin)
  api.route('/', auditRoutes)
  api.route('/', sync)
  api.route('/', zohoNotify)
  api.route('/', pipeline)
  api.route('/', forecast)
  api.route('/', trend)
  api.route('/', waterfall)
  api.route('/', funnel)
  api.route('/', risk)
  api.route('/', quality)
  api.route('/', deals)
  api.route('/', exportsRoute)
  api.route('/', settings)
  api.route('/', openapi)
  api.route('/fx', fx)
  app.route('/api/v1', api)

  app.notFound((c) => c.json(errorBody(c, 'NOT_FOUND', `No route for ${c.req.method} ${c.req.path}`), 404))
  app.onError(handleError)
  return app
}

export type App = ReturnType<typeof createApp>
