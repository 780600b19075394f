import { Hono } from 'hono'
import type { AppEnv } from '../http/types'
import { requireViewer } from '../auth/middleware'
import { forecastQuery } from '#shared/contracts/forecast'
import { requestContext } from '../analytics/context'
import { forecast as forecastOf } from '../analytics/forecast'
import { periodInverted } from '../analytics/period'

export const forecast = new Hono<AppEnv>().get('/forecast', requireViewer, async (c) => {
  const q = forecastQuery.parse(c.req.query())
  if (q.from && q.to && q.from > q.to) throw periodInverted({ from: q.from, to: q.to })
  const ctx = await requestContext(c)
  return c.json(await forecastOf(ctx, q, q.period, q))
})
