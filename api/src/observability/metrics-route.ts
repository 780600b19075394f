import type { Handler } from 'hono'
import { peerAddress } from '../auth/security'
import type { Config } from '../config'
import { forbidden, unauthorized } from '../http/errors'
import { isLoopbackHost } from '../http/loopback'
import type { AppEnv } from '../http/types'
import { safeEqual } from '../auth/crypto'
import type { Metrics } from './metrics'

/** Headers a reverse proxy adds: a loopback peer that sends one is relaying someone else. */
const PROXY_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip']

/**
 * Node's GET /metrics (request counts and latencies by route: not for the public). With
 * METRICS_TOKEN set it needs `Authorization: Bearer <METRICS_TOKEN>`, from anywhere; without, it
 * is served only to a client on this machine that came directly: through a reverse proxy on the
 * same host every visitor's socket is loopback, so proxied requests are refused too.
 */
export function metricsRoute(metrics: Metrics, config: Config): Handler<AppEnv> {
  return async (c) => {
    if (config.METRICS_TOKEN) {
      const m = /^Bearer[ ]+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')
      if (!m || !(await safeEqual(m[1]!, config.METRICS_TOKEN))) {
        c.header('www-authenticate', 'Bearer realm="metrics"')
        throw unauthorized('GET /metrics needs Authorization: Bearer <METRICS_TOKEN>')
      }
    } else if (!isLoopbackHost(peerAddress(c)) || PROXY_HEADERS.some((h) => c.req.header(h) !== undefined))
      throw forbidden(
        'GET /metrics is served only to clients on this machine; set METRICS_TOKEN to scrape it from elsewhere',
      )
    return c.text(metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4' })
  }
}
