import type { MiddlewareHandler } from 'hono'
import type { SandboxEnv } from './http'

export interface SandboxCall {
  at: number
  service: 'accounts' | 'crm' | 'fx' | 'sandbox'
  method: string
  path: string
  query: Record<string, string>
  status: number
}

/** Records every request with its final status (for API-cost assertions). */
export function callLog(
  calls: () => SandboxCall[],
  service: (path: string) => SandboxCall['service'],
): MiddlewareHandler<SandboxEnv> {
  return async (c, next) => {
    const at = Date.now()
    const url = new URL(c.req.url)
    const entry: SandboxCall = {
      at,
      service: service(url.pathname),
      method: c.req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: 0,
    }
    calls().push(entry)
    try {
      await next()
    } finally {
      entry.status = c.res?.status ?? 500
    }
  }
}
