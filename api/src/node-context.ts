import type { Config } from './config'
import type { Db } from './db/client'
import type { JobContext } from './jobs'
import type { Logger } from './observability/logger'
import { nodeZohoHttp } from './zoho/node-http'

/**
 * The context jobs and syncs run with on Node (server, CLI, bench): global fetch, and Zoho's CRM
 * calls over node:http. Its own module, so a sync process loads no server code.
 */
export function nodeJobContext(config: Config, db: Db, logger: Logger): JobContext {
  return { config, db, logger, fetch: globalThis.fetch, zohoHttp: nodeZohoHttp, now: () => new Date() }
}
