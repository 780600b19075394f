import { sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { query } from '../db/client'
import type { SettingsResponse, SettingsUpdate } from '#shared/contracts/settings'
import { badRequest } from '../http/errors'
import { loadOrg } from './context'
import { DEFAULT_QUIET_DAYS, staleThresholds } from './risk'

export async function readSettings(db: Db, orgId: string): Promise<SettingsResponse> {
  const org = await loadOrg(db, orgId)
  const thresholds = await staleThresholds({ db, org })
  return {
    fiscalYearStartMonth: org.fiscalYearStartMonth,
    quietDays: org.settings.quietDays ?? DEFAULT_QUIET_DAYS,
    staleDaysByStage: org.settings.staleDaysByStage ?? {},
    thresholds: thresholds.map((t) => ({
      stage: t.stage,
      days: t.days,
      source: t.source,
      medianWonDays: t.median === null ? null : Math.round(Number(t.median) * 10) / 10,
    })),
  }
}

/** Merge an update into orgs.settings (null removes a stage's threshold) and audit-log it. */
export async function updateSettings(
  db: Db,
  orgId: string,
  actorUserId: string,
  update: SettingsUpdate,
): Promise<SettingsResponse> {
  const org = await loadOrg(db, orgId)
  const settings = { ...org.settings }
  if (update.staleDaysByStage) {
    const known = new Set(
      (
        await query<{ stage: string }>(
          db,
          sql`select display_value as stage from stages where org_id = ${orgId} and state = 'open'`,
        )
      ).map((r) => r.stage),
    )
    const unknown = Object.keys(update.staleDaysByStage).filter((s) => !known.has(s))
    if (unknown.length) throw badRequest(`Not an open stage: ${unknown.join(', ')}`, 'INVALID_INPUT')
    const merged = { ...(settings.staleDaysByStage ?? {}) }
    for (const [stage, days] of Object.entries(update.staleDaysByStage)) {
      if (days === null) delete merged[stage]
      else merged[stage] = days
    }
    settings.staleDaysByStage = merged
  }
  if (update.quietDays !== undefined) settings.quietDays = update.quietDays
  await db.execute(
    sql`update orgs set settings = ${JSON.stringify(settings)}::jsonb,
               fiscal_year_start_month = ${update.fiscalYearStartMonth ?? org.fiscalYearStartMonth},
               updated_at = now()
        where id = ${orgId}`,
  )
  await db.execute(
    sql`insert into audit_log (org_id, actor_user_id, action, target, details)
        values (${orgId}, ${actorUserId}, 'settings.update', 'analytics', ${JSON.stringify(update)}::jsonb)`,
  )
  return readSettings(db, orgId)
}
