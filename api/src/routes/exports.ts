import { Hono } from 'hono'
import { stream } from 'hono/streaming'
import type { AppEnv } from '../http/types'
import { requireViewer } from '../auth/middleware'
import { audit } from '../auth/audit'
import { clientIp } from '../auth/security'
import { exportQuery } from '#shared/contracts/deals'
import { requestContext } from '../analytics/context'
import { exportDealsCsv } from '../analytics/export'

export const exportsRoute = new Hono<AppEnv>().get('/exports/deals.csv', requireViewer, async (c) => {
  const q = exportQuery.parse(c.req.query())
  const ctx = await requestContext(c)
  const chunks = await exportDealsCsv(ctx, q)
  // The IP as clientIp() sees it (on Node the socket's peer, or the proxy's X-Forwarded-For entry
  // when TRUST_PROXY_HOPS says a proxy is trusted; Cloudflare's header on Workers), never a header
  // the client chose.
  await audit(c.var.db, {
    orgId: ctx.org.id,
    actorUserId: ctx.viewer.userId,
    action: 'export',
    target: 'deals.csv',
    details: { filters: q },
    ip: clientIp(c),
  })
  c.header('content-type', 'text/csv; charset=utf-8')
  c.header('content-disposition', `attachment; filename="deals-${ctx.today}.csv"`)
  c.header('cache-control', 'no-store')
  return stream(c, async (s) => {
    // Stop reading batches once the client has gone (else an abandoned export scans on to the end).
    for await (const chunk of chunks) {
      if (s.aborted) break
      await s.write(chunk)
    }
  })
})
