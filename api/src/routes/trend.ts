import { Hono } from 'hono'
import type { AppEnv } from '../http/types'
import { requireViewer } from '../auth/middleware'
import { trendQuery } from '#shared/contracts/trend'
import { requestContext } from '../analytics/context'
import { trend as trendOf } from '../analytics/trend'
import { periodInverted } from '../analytics/period'

export const trend = new Hono<AppEnv>().get('/trend', requireViewer, async (c) => {
  const q = trendQuery.parse(c.req.query())
  if (q.from && q.to && q.from > q.to) throw periodInverted({ from: q.from, to: q.to })
  const ctx = await requestContext(c)
  return c.json(await trendOf(ctx, q, q))
})
