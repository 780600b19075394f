import { Hono } from 'hono'
import type { AppEnv } from '../http/types'
import { requireViewer } from '../auth/middleware'
import { dealParams, dealsQuery } from '#shared/contracts/deals'
import { requestContext } from '../analytics/context'
import { dealDetail, listDeals } from '../analytics/deals'

export const deals = new Hono<AppEnv>()
  .get('/deals', requireViewer, async (c) => {
    const q = dealsQuery.parse(c.req.query())
    const ctx = await requestContext(c)
    return c.json(await listDeals(ctx, q))
  })
  .get('/deals/:id', requireViewer, async (c) => {
    const { id } = dealParams.parse(c.req.param())
    const ctx = await requestContext(c)
    return c.json(await dealDetail(ctx, id))
  })
