import { Hono } from 'hono'
import type { AppEnv } from '../http/types'
import { listAudit } from '../auth/audit'
import { requireRole, requireViewer } from '../auth/middleware'
import { auditQuerySchema } from '#shared/contracts/auth'

/** GET /api/v1/audit: the org's audit trail for admins, newest first, id-cursor paginated. */
export const auditRoutes = new Hono<AppEnv>().get(
  '/audit',
  requireViewer,
  requireRole('admin'),
  async (c) => {
    const q = auditQuerySchema.parse(c.req.query())
    return c.json(await listAudit(c.var.db, c.var.viewer.orgId, q))
  },
)
