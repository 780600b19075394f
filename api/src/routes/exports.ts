import { Hono } from 'hono'
import { stream } from 'hono/streaming'
import { sql } from 'drizzle-orm'
import type { AppEnv } from '../http/types'
import { requireViewer } from '../auth/middleware'
import { exportQuery } from '#shared/contracts/deals'
import { requestContext } from '../analytics/context'
import { exportDealsCsv } from '../analytics/export'

export const exportsRoute = new Hono<AppEnv>().get('/exports/deals.csv', requireViewer, async (c) => {
  const q = exportQuery.parse(c.req.query())
  const ctx = await requestContext(c)
  const chunks = await exportDealsCsv(ctx, q)
  await c.var.db.execute(
    sql`insert into audit_log (org_id, actor_user_id, action, target, details, ip)
        values (${ctx.org.id}, ${ctx.viewer.userId}, 'export', 'deals.csv', ${JSON.stringify({ filters: q })}::jsonb,
                ${c.req.header('cf-connecting-ip') ?? c.req.header('x-forwarded-for')?.split(',')[0]?.trim() ?? null})`,
  )
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
