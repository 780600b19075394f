import { Hono } from 'hono'
import type { AppEnv } from '../http/types'
import { requireViewer } from '../auth/middleware'
import { waterfallQuery } from '#shared/contracts/waterfall'
import { requestContext, resolvePeriod } from '../analytics/context'
import { waterfall as waterfallOf } from '../analytics/waterfall'

export const waterfall = new Hono<AppEnv>().get('/waterfall', requireViewer, async (c) => {
  const q = waterfallQuery.parse(c.req.query())
  const ctx = await requestContext(c)
  // T: closeFrom..closeTo, each defaulting to the current fiscal quarter's bound (resolvePeriod).
  const window = resolvePeriod(ctx, { from: q.closeFrom, to: q.closeTo }, ['closeFrom', 'closeTo'])
  return c.json(await waterfallOf(ctx, q, q.from, q.to, window, q.limit))
})
