import { z } from 'zod'
import type { EndpointDoc } from './common'
import {
  auditPageSchema,
  auditQuerySchema,
  meResponseSchema,
  roleOverrideRequestSchema,
  roleOverrideResponseSchema,
  widgetAssertionSchema,
  widgetSecretResponseSchema,
  widgetTokenResponseSchema,
} from './auth'
import { fxEndpoints } from './fx'
import { syncEndpoints } from './sync'
import { dealsEndpoints } from './deals'
import { forecastEndpoints } from './forecast'
import { funnelEndpoints } from './funnel'
import { pipelineEndpoints } from './pipeline'
import { qualityEndpoints } from './quality'
import { riskEndpoints } from './risk'
import { settingsEndpoints } from './settings'
import { trendEndpoints } from './trend'
import { waterfallEndpoints } from './waterfall'

/** The auth routes (schemas in auth.ts, owned by the auth area), described here for the document. */
const authEndpoints: EndpointDoc[] = [
  {
    method: 'post',
    path: '/auth/widget',
    tag: 'Auth',
    summary: 'Exchange a signed widget assertion (from the Deluge function) for a short-lived Bearer token',
    body: widgetAssertionSchema,
    response: widgetTokenResponseSchema,
  },
  {
    method: 'get',
    path: '/me',
    tag: 'Auth',
    summary: 'The signed-in user and app role',
    response: meResponseSchema,
  },
  {
    method: 'get',
    path: '/audit',
    tag: 'Admin',
    summary: 'Audit log, newest first',
    query: auditQuerySchema,
    response: auditPageSchema,
    roles: ['admin'],
  },
  {
    method: 'put',
    path: '/admin/users/{id}/role',
    tag: 'Admin',
    summary: "Override a user's app role (null: derive it from Zoho again)",
    params: z.object({ id: z.string() }),
    body: roleOverrideRequestSchema,
    response: roleOverrideResponseSchema,
    roles: ['admin'],
  },
  {
    method: 'post',
    path: '/admin/widget-secret',
    tag: 'Admin',
    summary: 'Rotate the per-org widget secret (shown once)',
    response: widgetSecretResponseSchema,
    roles: ['admin'],
  },
]

/** Every documented endpoint, in the order the docs page shows them. */
export const ENDPOINTS: EndpointDoc[] = [
  ...pipelineEndpoints,
  ...forecastEndpoints,
  ...trendEndpoints,
  ...waterfallEndpoints,
  ...funnelEndpoints,
  ...riskEndpoints,
  ...qualityEndpoints,
  ...dealsEndpoints,
  ...settingsEndpoints,
  ...syncEndpoints,
  ...fxEndpoints,
  ...authEndpoints,
]

export type { EndpointDoc }
