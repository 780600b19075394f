/**
 * The cron schedules, in one place. wrangler.toml's [triggers].crons must list exactly these
 * (a test checks); the Node scheduler runs the same patterns with croner in Cloudflare's dialect.
 * Cron triggers run in UTC.
 */
export const SCHEDULES = {
  /** Incremental sync of every connected org (SYNC_INTERVAL_MINUTES on Node). */
  sync: '*/15 * * * *',
  /** Weekly FX refresh (CURRENCY_UPDATE_SCHEDULE on Node). */
  fx: '0 0 * * MON',
  /** Hourly: snapshot each org whose local day has ended since its last snapshot. */
  snapshot: '5 * * * *',
} as const

export type JobName = keyof typeof SCHEDULES

export function jobForCron(cron: string): JobName | undefined {
  return (Object.keys(SCHEDULES) as JobName[]).find((k) => SCHEDULES[k] === cron)
}
