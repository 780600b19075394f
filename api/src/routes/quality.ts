import { Hono } from 'hono'
import type { AppEnv } from '../http/types'
import { requireViewer } from '../auth/middleware'
import { qualityQuery } from '#shared/contracts/quality'
import { requestContext } from '../analytics/context'
import { quality as qualityOf } from '../analytics/quality'

export const quality = new Hono<AppEnv>().get('/quality', requireViewer, async (c) => {
  const q = qualityQuery.parse(c.req.query())
  const ctx = await requestContext(c)
  return c.json(await qualityOf(ctx, q, q.limit))
})
