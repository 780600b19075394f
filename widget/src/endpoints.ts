import { z } from 'zod'
import { get, send, type Params } from './api'
import {
  meResponseSchema,
  roleOverrideResponseSchema,
  widgetSecretResponseSchema,
  widgetTokenResponseSchema,
  type WidgetAssertion,
} from '#shared/contracts/auth'
import { dealDetail, dealsResponse } from '#shared/contracts/deals'
import { forecastResponse } from '#shared/contracts/forecast'
import { fxRatesResponse, fxStatusResponse } from '#shared/contracts/fx'
import { funnelResponse, timeInStageResponse } from '#shared/contracts/funnel'
import { byOwnerResponse, byStageResponse, summaryResponse } from '#shared/contracts/pipeline'
import { qualityResponse } from '#shared/contracts/quality'
import { riskResponse } from '#shared/contracts/risk'
import { settingsResponse, type SettingsUpdate } from '#shared/contracts/settings'
import { startSyncResponse, syncRunsResponse, syncStatusResponse } from '#shared/contracts/sync'
import { trendResponse } from '#shared/contracts/trend'
import { waterfallResponse } from '#shared/contracts/waterfall'
import * as pending from './pending-contracts'

/**
 * Typed endpoints: every response is parsed with its contract from shared/contracts. `key` names the
 * request slot: a newer request in the same slot aborts the older one.
 */
export const api = {
  me: () => get('/api/v1/me', meResponseSchema),
  summary: (p: Params, key = 'summary') => get('/api/v1/pipeline/summary', summaryResponse, p, key),
  byStage: (p: Params) => get('/api/v1/pipeline/by-stage', byStageResponse, p),
  byOwner: (p: Params, key = 'by-owner') => get('/api/v1/pipeline/by-owner', byOwnerResponse, p, key),
  forecast: (p: Params, key = 'forecast') => get('/api/v1/forecast', forecastResponse, p, key),
  trend: (p: Params, key = 'trend') => get('/api/v1/trend', trendResponse, p, key),
  waterfall: (p: Params, key = 'waterfall') => get('/api/v1/waterfall', waterfallResponse, p, key),
  funnel: (p: Params) => get('/api/v1/funnel', funnelResponse, p),
  timeInStage: (p: Params) => get('/api/v1/time-in-stage', timeInStageResponse, p),
  risk: (p: Params) => get('/api/v1/risk', riskResponse, p),
  quality: (p: Params) => get('/api/v1/quality', qualityResponse, p),
  deals: (p: Params, key = 'deals') => get('/api/v1/deals', dealsResponse, p, key),
  deal: (id: string) => get(`/api/v1/deals/${encodeURIComponent(id)}`, dealDetail, {}, 'deal'),
  fxStatus: () => get('/api/v1/fx/status', fxStatusResponse),
  fxRates: (p: Params) => get('/api/v1/fx/rates', fxRatesResponse, p),
  syncStatus: () => get('/api/v1/sync/status', syncStatusResponse),
  syncRuns: (limit = 10) => get('/api/v1/sync/runs', syncRunsResponse, { limit }),
  startSync: (kind?: 'full' | 'incremental') =>
    send('POST', '/api/v1/sync', kind ? { kind } : {}, startSyncResponse),
  settings: () => get('/api/v1/settings', settingsResponse),
  saveSettings: (body: SettingsUpdate) => send('PUT', '/api/v1/settings', body, settingsResponse),
  users: () => get('/api/v1/admin/users', pending.adminUsersResponse),
  setRole: (userId: string, role: 'admin' | 'manager' | 'rep' | null) =>
    send(
      'PUT',
      `/api/v1/admin/users/${encodeURIComponent(userId)}/role`,
      { role },
      roleOverrideResponseSchema,
    ),
  rotateWidgetSecret: () => send('POST', '/api/v1/admin/widget-secret', {}, widgetSecretResponseSchema),
  logout: () => send('POST', '/auth/logout', undefined, z.unknown()),
  exchangeAssertion: (a: WidgetAssertion) =>
    send('POST', '/api/v1/auth/widget', a, widgetTokenResponseSchema),
}

export type Api = typeof api
