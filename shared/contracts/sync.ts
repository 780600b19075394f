import { z } from 'zod'
import type { EndpointDoc } from './common'

/** Sync API contracts (api/src/routes/sync.ts, zoho-notify.ts): the same schemas serve the UI and openapi. */

export const syncKind = z.enum(['full', 'incremental', 'ids'])
export const syncStatus = z.enum(['queued', 'running', 'succeeded', 'failed'])
/**
 * A paused run: open, with the reason it waits for Zoho calls in its error (the engine's
 * pauseReason); a later sync continues it. The one place that reads the pair that way.
 */
export const isPausedRun = (r: { status: string; error: string | null }) =>
  r.status === 'running' && r.error !== null

export const syncPhase = z.enum([
  'queued',
  'metadata',
  'deals',
  'deleted',
  'sweep',
  'history',
  'done',
  'failed',
])

/** POST /api/v1/sync body (optional): a manager may force a full re-sync. */
export const startSyncRequest = z.object({ kind: z.enum(['full', 'incremental']).optional() }).strict()
export type StartSyncRequest = z.infer<typeof startSyncRequest>

/** 202 from POST /api/v1/sync. */
export const startSyncResponse = z.object({ runId: z.string() })
export type StartSyncResponse = z.infer<typeof startSyncResponse>

export const syncRun = z.object({
  id: z.string(),
  kind: syncKind,
  trigger: z.string(),
  status: syncStatus,
  phase: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  durationSeconds: z.number().nullable(),
  pages: z.number().int(),
  /** Deals read from Zoho CRM, changed or not. */
  read: z.number().int(),
  /** Of those, the deals that were new or changed. */
  records: z.number().int(),
  deletions: z.number().int(),
  /** Every Zoho call the run made (metadata, Deals, deleted, Stage_History). */
  apiCalls: z.number().int(),
  /** The part of apiCalls spent on the Stage_History backfill. */
  historyCalls: z.number().int(),
  creditsRemaining: z.number().int().nullable(),
  error: z.string().nullable(),
})
export type SyncRun = z.infer<typeof syncRun>

/** GET /api/v1/sync/runs */
export const syncRunsQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) })
export const syncRunsResponse = z.object({ runs: z.array(syncRun) })
export type SyncRunsResponse = z.infer<typeof syncRunsResponse>

/** GET /api/v1/sync/status: the "as of" badge. */
export const syncStatusResponse = z.object({
  /** Finish time of the last successful sync (ISO), null before the first. */
  lastSuccessAt: z.string().nullable(),
  /** The run in progress, if any. */
  runningRunId: z.string().nullable(),
  /** Zoho calls the org's syncs made in the last hour, against API_RATE_LIMIT_PER_HOUR. */
  zohoCalls: z.object({ lastHour: z.number().int(), perHour: z.number().int() }),
})
export type SyncStatusResponse = z.infer<typeof syncStatusResponse>

/** GET /api/v1/sync/stage-history: how far the Stage_History backfill has come (the Sync page). */
export const stageHistoryProgress = z.object({
  read: z.number().int().describe('Deals whose Stage_History has been read from Zoho CRM'),
  toRead: z
    .number()
    .int()
    .describe(
      'Open deals, and deals won or lost lately, whose Stage_History is still to be read: until then ' +
        'their days in stage are bounds (the deal page says "up to" or "at least")',
    ),
  perSync: z.number().int().describe('Deals each sync reads the Stage_History of (one Zoho call each)'),
  unavailable: z
    .boolean()
    .describe("Zoho CRM refused the org's Stage_History the last time a sync asked: none will arrive"),
})
export type StageHistoryProgress = z.infer<typeof stageHistoryProgress>

/** Data of each `progress` event of GET /api/v1/sync/stream/:runId; `done` and `error` carry it too. */
export const syncProgressEvent = z.object({
  runId: z.string(),
  status: syncStatus,
  phase: z.string(),
  pages: z.number().int(),
  /** Deals read from Zoho CRM, changed or not. */
  read: z.number().int(),
  /** Of those, the deals that were new or changed. */
  records: z.number().int(),
  deletions: z.number().int(),
  apiCalls: z.number().int(),
  /** Deals read per second since the run started. */
  ratePerSecond: z.number(),
  /** Seconds left, when an estimate exists. */
  estimatedSecondsLeft: z.number().nullable(),
  error: z.string().nullable(),
})
export type SyncProgressEvent = z.infer<typeof syncProgressEvent>

export const streamParams = z.object({ runId: z.string().min(1).max(100) })

/** Zoho Watch API callback body (reference §6). */
export const zohoNotification = z.looseObject({
  // Our channel ids are numeric (newChannelId) and our tokens 48 hex characters (Zoho allows 50):
  // anything else (a NUL, a megabyte) is a 400 here, never a value sent to SQL.
  channel_id: z
    .union([z.string().regex(/^\d{1,30}$/), z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)])
    .transform(String),
  token: z
    .string()
    .regex(/^[\x21-\x7e]{1,50}$/)
    .nullable()
    .optional(),
  module: z.string().optional(),
  operation: z.string().optional(),
  ids: z.array(z.union([z.string(), z.number()]).transform(String)).default([]),
})
export type ZohoNotificationBody = z.infer<typeof zohoNotification>

/** OpenAPI entries for the sync routes (add `...syncEndpoints` to ENDPOINTS in index.ts). */
export const syncEndpoints: EndpointDoc[] = [
  {
    method: 'post',
    path: '/sync',
    tag: 'Sync',
    summary: "Start a sync of the viewer's org now (202 with the run id; 409 when one is running)",
    body: startSyncRequest,
    response: startSyncResponse,
    roles: ['manager', 'admin'],
  },
  {
    method: 'get',
    path: '/sync/stream/{runId}',
    tag: 'Sync',
    summary: 'Live progress of a run (SSE: progress events, then done or error; heartbeat comments)',
    params: streamParams,
    response: syncProgressEvent,
    contentType: 'text/event-stream',
    roles: ['manager', 'admin'],
  },
  {
    method: 'get',
    path: '/sync/runs',
    tag: 'Sync',
    summary: 'Recent sync runs: duration, counts, API calls, errors',
    query: syncRunsQuery,
    response: syncRunsResponse,
    roles: ['manager', 'admin'],
  },
  {
    method: 'get',
    path: '/sync/stage-history',
    tag: 'Sync',
    summary: 'How many deals have their Stage_History read from Zoho CRM, how many are still to be read',
    response: stageHistoryProgress,
    roles: ['manager', 'admin'],
  },
  {
    method: 'get',
    path: '/sync/status',
    tag: 'Sync',
    summary: 'Time of the last successful sync (the "as of" badge) and the run in progress',
    response: syncStatusResponse,
  },
  {
    method: 'post',
    path: '/zoho/notify',
    tag: 'Sync',
    summary: 'Zoho Watch API callback (authenticated by the channel token); re-fetches the named deals',
    body: zohoNotification,
  },
]
