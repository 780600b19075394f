import { createApp } from '../../api/src/app'
import { nodeZohoHttp } from '../../api/src/zoho/node-http'
import { loadConfig, type Config } from '../../api/src/config'
import type { Database } from '../../api/src/db/client'
import type { AppDeps } from '../../api/src/http/types'
import { createLogger } from '../../api/src/observability/logger'

/** The real app over a test database, with a silent logger unless LOG_LEVEL is set. */
export function createTestApp(
  database: Database,
  env: Record<string, string | undefined> = {},
  overrides: Partial<AppDeps> = {},
) {
  const config: Config = loadConfig({ APP_ENV: 'test', LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent', ...env })
  const pending: Promise<unknown>[] = []
  const deps: AppDeps = {
    config,
    logger: createLogger(config.LOG_LEVEL),
    database: () => database,
    fetch: globalThis.fetch,
    zohoHttp: nodeZohoHttp,
    now: () => new Date(),
    background: (task) => void pending.push(task.catch(() => {})),
    ...overrides,
  }
  const app = createApp(deps)
  return { app, deps, config, settle: () => Promise.all(pending) }
}
