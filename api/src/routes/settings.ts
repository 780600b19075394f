import { Hono } from 'hono'
import type { AppEnv } from '../http/types'
import { requireRole, requireViewer } from '../auth/middleware'
import { settingsUpdate } from '#shared/contracts/settings'
import { readSettings, updateSettings } from '../analytics/settings'
import { badRequest } from '../http/errors'

export const settings = new Hono<AppEnv>()
  .get('/settings', requireViewer, requireRole('admin'), async (c) =>
    c.json(await readSettings(c.var.db, c.var.viewer.orgId)),
  )
  .put('/settings', requireViewer, requireRole('admin'), async (c) => {
    const body = await c.req.json().catch(() => {
      throw badRequest('Body must be JSON', 'INVALID_INPUT')
    })
    const update = settingsUpdate.parse(body)
    return c.json(await updateSettings(c.var.db, c.var.viewer.orgId, c.var.viewer.userId, update))
  })
