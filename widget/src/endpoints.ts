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
import {
  stageHistoryProgress,
  startSyncResponse,
  syncRunsResponse,
  syncStatusResponse,
} from '#shared/contracts/sync'
import { trendResponse } from '#shared/contracts/trend'
import { waterfallResponse } from '#shared/contracts/waterfall'
import * as pending from './pending-contracts'

/**
 * Typed endpoints: every response is parsed with its contract from shared/contracts. `signal` is the
 * caller's own AbortSignal (useResource passes one per load), so only the caller that issued a
 * request can supersede it; there are no shared request slots between components.
 */
type S = AbortSignal | undefined
export const api = {
  me: (s?: S) => get('/api/v1/me', meResponseSchema, {}, s),
  summary: (p: Params, s?: S) => get('/api/v1/pipeline/summary', summaryResponse, p, s),
  byStage: (p: Params, s?: S) => get('/api/v1/pipeline/by-stage', byStageResponse, p, s),
  byOwner: (p: Params, s?: S) => get('/api/v1/pipeline/by-owner', byOwnerResponse, p, s),
  forecast: (p: Params, s?: S) => get('/api/v1/forecast', forecastResponse, p, s),
  trend: (p: Params, s?: S) => get('/api/v1/trend', trendResponse, p, s),
  waterfall: (p: Params, s?: S) => get('/api/v1/waterfall', waterfallResponse, p, s),
  funnel: (p: Params, s?: S) => get('/api/v1/funnel', funnelResponse, p, s),
  timeInStage: (p: Params, s?: S) => get('/api/v1/time-in-stage', timeInStageResponse, p, s),
  risk: (p: Params, s?: S) => get('/api/v1/risk', riskResponse, p, s),
  quality: (p: Params, s?: S) => get('/api/v1/quality', qualityResponse, p, s),
  deals: (p: Params, s?: S) => get('/api/v1/deals', dealsResponse, p, s),
  deal: (id: string, s?: S) => get(`/api/v1/deals/${encodeURIComponent(id)}`, dealDetail, {}, s),
  fxStatus: (s?: S) => get('/api/v1/fx/status', fxStatusResponse, {}, s),
  fxRates: (p: Params, s?: S) => get('/api/v1/fx/rates', fxRatesResponse, p, s),
  syncStatus: (s?: S) => get('/api/v1/sync/status', syncStatusResponse, {}, s),
  syncRuns: (limit = 10, s?: S) => get('/api/v1/sync/runs', syncRunsResponse, { limit }, s),
  stageHistory: (s?: S) => get('/api/v1/sync/stage-history', stageHistoryProgress, {}, s),
  startSync: (kind?: 'full' | 'incremental') =>
    send('POST', '/api/v1/sync', kind ? { kind } : {}, startSyncResponse),
  settings: (s?: S) => get('/api/v1/settings', settingsResponse, {}, s),
  saveSettings: (body: SettingsUpdate) => send('PUT', '/api/v1/settings', body, settingsResponse),
  users: (s?: S) => get('/api/v1/admin/users', pending.adminUsersResponse, {}, s),
  setRole: (userId: string, role: 'admin' | 'manager' | 'rep' | null) =>
    send(
      'PUT',
      `/api/v1/admin/users/${encodeURIComponent(userId)}/role`,
      { role },
      roleOverrideResponseSchema,
    ),
  rotateWidgetSecret: () => send('POST', '/api/v1/admin/widget-secret', {}, widgetSecretResponseSchema),
  logout: () => send('POST', '/auth/logout', undefined, z.unknown()),
  // The sign-in itself: no bearer token, no re-authentication on a 401.
  exchangeAssertion: (a: WidgetAssertion) =>
    send('POST', '/api/v1/auth/widget', a, widgetTokenResponseSchema, { signIn: true }),
}

export type Api = typeof api
