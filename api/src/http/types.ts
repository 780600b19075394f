import type { Context } from 'hono'
import type { ZohoHttp } from '../zoho/client'
import type { Config } from '../config'
import type { Database, Db } from '../db/client'
import type { Logger } from '../observability/logger'
import type { Metrics } from '../observability/metrics'
import type { Viewer } from '../auth/scope'

/** What the app is built from. node.ts and worker.ts each build one; tests build their own. */
export interface AppDeps {
  config: Config
  logger: Logger
  /** Node: the one shared database. Workers: a new postgres.js client per request (from c.env). */
  database(c?: Context): Database
  /** Outbound HTTP to Zoho and Currency Freaks (global fetch in production). */
  fetch: typeof fetch
  /** The Zoho CRM calls' HTTP when not fetch (Node: nodeZohoHttp). */
  zohoHttp?: ZohoHttp
  now(): Date
  /** Keep a background task alive (Workers: c.executionCtx.waitUntil; Node: just run it). */
  background(task: Promise<unknown>, c?: Context): void
  /**
   * Workers: hand a started manual sync to the sync Workflow (bounded, retried steps) instead of
   * running it in the request's background, which waitUntil would cut after ~30 s.
   */
  startSyncWorkflow?(c: Context, orgId: string): Promise<void>
  metrics?: Metrics
  reportError?(err: unknown): void
}

export type AppEnv = {
  Variables: {
    requestId: string
    deps: AppDeps
    db: Db
    /** Set by requireViewer on authenticated routes. */
    viewer: Viewer
  }
}
