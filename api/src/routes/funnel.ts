import { Hono } from 'hono'
import type { AppEnv } from '../http/types'
import { requireViewer } from '../auth/middleware'
import { funnelQuery, timeInStageQuery, velocityQuery } from '#shared/contracts/funnel'
import { requestContext, resolvePeriod } from '../analytics/context'
import { funnel as funnelOf } from '../analytics/funnel'
import { timeInStage } from '../analytics/time-in-stage'
import { velocity } from '../analytics/velocity'

export const funnel = new Hono<AppEnv>()
  .get('/funnel', requireViewer, async (c) => {
    const q = funnelQuery.parse(c.req.query())
    const ctx = await requestContext(c)
    return c.json(await funnelOf(ctx, q, resolvePeriod(ctx, q)))
  })
  .get('/time-in-stage', requireViewer, async (c) => {
    const q = timeInStageQuery.parse(c.req.query())
    const ctx = await requestContext(c)
    return c.json(await timeInStage(ctx, q, resolvePeriod(ctx, q)))
  })
  .get('/velocity', requireViewer, async (c) => {
    const q = velocityQuery.parse(c.req.query())
    const ctx = await requestContext(c)
    return c.json(await velocity(ctx, q, resolvePeriod(ctx, q)))
  })
