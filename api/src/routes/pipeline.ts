import { Hono } from 'hono'
import type { AppEnv } from '../http/types'
import { requireViewer } from '../auth/middleware'
import { byOwnerQuery, byStageQuery, summaryQuery } from '#shared/contracts/pipeline'
import { requestContext, resolvePeriod } from '../analytics/context'
import { pipelineSummary } from '../analytics/summary'
import { pipelineByStage } from '../analytics/by-stage'
import { pipelineByOwner } from '../analytics/by-owner'

export const pipeline = new Hono<AppEnv>()
  .get('/pipeline/summary', requireViewer, async (c) => {
    const q = summaryQuery.parse(c.req.query())
    const ctx = await requestContext(c)
    return c.json(await pipelineSummary(ctx, q, resolvePeriod(ctx, q), q.asOf))
  })
  .get('/pipeline/by-stage', requireViewer, async (c) => {
    const q = byStageQuery.parse(c.req.query())
    const ctx = await requestContext(c)
    return c.json(await pipelineByStage(ctx, q, resolvePeriod(ctx, q)))
  })
  .get('/pipeline/by-owner', requireViewer, async (c) => {
    const q = byOwnerQuery.parse(c.req.query())
    const ctx = await requestContext(c)
    return c.json(await pipelineByOwner(ctx, q, resolvePeriod(ctx, q)))
  })
