import { Hono } from 'hono'
import type { AppEnv } from '../http/types'
import { requireViewer } from '../auth/middleware'
import { riskQuery } from '#shared/contracts/risk'
import { requestContext } from '../analytics/context'
import { risk as riskOf } from '../analytics/risk'

export const risk = new Hono<AppEnv>().get('/risk', requireViewer, async (c) => {
  const q = riskQuery.parse(c.req.query())
  const ctx = await requestContext(c)
  return c.json(await riskOf(ctx, q, q))
})
