import { sql } from 'drizzle-orm'
import { query, type Db } from '../db/client'
import type { Filters } from '#shared/contracts/common'
import type { RISK_REASONS, RiskResponse } from '#shared/contracts/risk'
import { filterConditions, zohoDealUrl, type AnalyticsContext } from './context'
import { money } from './decimal'
import { calendarDaysTo, startsOfDaysBack } from './days'
import { historyRefused, historyToRead } from '../sync/history'

type RiskReason = (typeof RISK_REASONS)[number]

export const DEFAULT_QUIET_DAYS = 30
export const MIN_STALE_DAYS = 14

/**
 * Stuck thresholds per stage: the admin's setting, else twice the median days won deals spent in
 * the stage (their stays: stage history, consecutive entries of the same stage being one; org-wide,
 * not per viewer), at least 14. Days are calendar days in the org's time zone (days.ts), as the
 * days in stage they are compared with.
 */
export async function staleThresholds(ctx: Pick<AnalyticsContext, 'db' | 'org'>) {
  const rows = await wonStageMedians(ctx.db, ctx.org.id, ctx.org.timeZone)
  const settings = ctx.org.settings.staleDaysByStage ?? {}
  return rows.map((r) => {
    const set = settings[r.stage]
    if (set !== undefined) return { stage: r.stage, days: set, source: 'setting' as const, median: r.median }
    const twice = r.median === null ? 0 : 2 * Number(r.median)
    return {
      stage: r.stage,
      days: Math.max(MIN_STALE_DAYS, Math.round(twice * 10) / 10),
      source: 'default' as const,
      median: r.median,
    }
  })
}

/**
 * Per open stage in sequence, the median calendar days won deals' whole stays lasted, from
 * stage_medians; computed and kept there when it holds none for the org in this time zone. The
 * trigger on stage_history empties it under the same lock, so a fill never outlives a change.
 */
async function wonStageMedians(db: Db, org: string, tz: string) {
  const read = () =>
    query<{ stage: string; median: string | null }>(
      db,
      sql`select m.stage, m.median::text as median from stage_medians m
          join stages s on s.org_id = m.org_id and s.display_value = m.stage
          where m.org_id = ${org} and m.time_zone = ${tz}
          order by s.sequence`,
    )
  const cached = await read()
  if (cached.length) return cached
  await db.transaction(async (tx) => {
    const t = tx as unknown as Db
    await t.execute(sql`select pg_advisory_xact_lock(hashtext('stage_medians'), hashtext(${org}))`)
    // A request that waited on the lock for another's fill uses it rather than computing again.
    const [filled] = await query<{ n: number }>(
      t,
      sql`select count(*)::int as n from stage_medians where org_id = ${org} and time_zone = ${tz}`,
    )
    if (filled!.n) return
    await t.execute(sql`delete from stage_medians where org_id = ${org}`)
    await t.execute(sql`
      with med as (
        -- days: calendar days in the org's time zone, kept with each stay by its trigger.
        select h.stage, percentile_cont(0.5) within group (order by h.days) as median
        from stage_stays h join deals w on w.org_id = h.org_id and w.id = h.deal_id and w.state = 'won'
        where h.org_id = ${org} and h.days is not null group by h.stage
      )
      insert into stage_medians (org_id, stage, median, time_zone)
      select ${org}, s.display_value, med.median, ${tz}
      from stages s left join med on med.stage = s.display_value
      where s.org_id = ${org} and s.state = 'open'`)
  })
  return read()
}

/**
 * Fills the org's stuck-threshold medians when a change of its history emptied them: called at the
 * end of a sync run, so the first risk request after it does not pay for them (1.5 to 3 s at 1M
 * deals). A no-op read when they are kept.
 */
export async function warmStageMedians(db: Db, orgId: string): Promise<void> {
  const [org] = await query<{ tz: string }>(db, sql`select time_zone as tz from orgs where id = ${orgId}`)
  if (org) await wonStageMedians(db, orgId, org.tz)
}

interface Row {
  id: string
  name: string
  stage: string
  owner_id: string | null
  owner_name: string | null
  amount_sgd: string | null
  closing_date: string | null
  days_in_stage: number
  up_to: boolean
  at_least: boolean
  history_refused: boolean
  pushes: number
  quiet_days: number
  stuck: boolean
  overdue: boolean
  slipping: boolean
  quiet: boolean
  n_total: number
  n_stuck: number
  n_stuck_up_to: number
  n_overdue: number
  n_slipping: number
  n_quiet: number
  at_risk_amount: string | null
}

const reason = (code: RiskReason, message: string, provisional = false) => ({ code, message, provisional })

/**
 * The stuck reason. Days counted from the deal's creation (its Stage_History not read) are an upper
 * bound: the flag is provisional and says why, so a first sync of an old org does not pass off its
 * deals' ages as days in stage. (Tersely, instead of the threshold: two lines in a narrow widget.)
 */
function stuckReason(r: Row, threshold: number) {
  const days = `${r.days_in_stage} days in ${r.stage}`
  if (!r.up_to) return reason('stuck', `${r.at_least ? 'at least ' : ''}${days} (threshold ${threshold})`)
  return reason(
    'stuck',
    `up to ${days} (${r.history_refused ? 'history unavailable' : 'history pending'})`,
    true,
  )
}

/** Stale and at-risk open deals (METRICS), each with the reasons that apply. */
export async function risk(
  ctx: AnalyticsContext,
  filters: Filters,
  opts: { reason?: 'stuck' | 'overdue' | 'slipping' | 'quiet'; dealId?: string; limit: number },
): Promise<RiskResponse> {
  const where = await filterConditions(ctx, filters, 'd')
  const thresholds = await staleThresholds(ctx)
  const quietDays = ctx.org.settings.quietDays ?? DEFAULT_QUIET_DAYS
  const tz = ctx.org.timeZone
  const org = ctx.org.id
  const thresholdOf = new Map(thresholds.map((t) => [t.stage, t.days]))
  // The flags compare instants with the start of an org day, so the scan converts no row to the
  // org's calendar: more than T calendar days in the stage is "entered before the start of day
  // today − floor(T)"; at least Q days quiet is "last active before the start of day today − (Q − 1)".
  // Only the page's rows get their days counted.
  const starts = await startsOfDaysBack(ctx.db, ctx.today, tz, [
    ...thresholds.map((t) => Math.floor(t.days)),
    MIN_STALE_DAYS,
    quietDays - 1,
  ])
  const dayStart = (n: number) => sql`${starts.get(n)!}::timestamptz`
  const stuckBefore = thresholds.length
    ? sql`case d.stage ${sql.join(
        thresholds.map((t) => sql`when ${t.stage} then ${dayStart(Math.floor(t.days))}`),
        sql` `,
      )} else ${dayStart(MIN_STALE_DAYS)} end`
    : dayStart(MIN_STALE_DAYS)
  const rows = await query<Row>(
    ctx.db,
    // Every column the flags and the counts read is in deals_open_risk_idx, whose order is the
    // page's: both come from the index alone, and only the page's rows are read from the table.
    sql`with flagged as not materialized (
          select d.id, d.amount_sgd,
                 -- Moves later seen by the sync or the Stage_History backfill, or along the snapshots.
                 greatest(d.closing_push_count, d.snapshot_push_count) as pushes,
                 coalesce(d.stage_entered_at, d.created_time) < ${stuckBefore} as stuck,
                 coalesce(d.closing_date < ${ctx.today}::date, false) as overdue,
                 greatest(d.closing_push_count, d.snapshot_push_count) > 2 as slipping,
                 coalesce(d.last_activity_time, d.created_time) < ${dayStart(quietDays - 1)} as quiet,
                 -- Counted from the deal's creation until its Stage_History says when it entered the stage.
                 ${historyToRead('d')} and (d.stage_entered_at is null or d.stage_entered_at = d.created_time) as up_to,
                 -- From a stage change our sync saw (made at or before that edit) until the history says when.
                 ${historyToRead('d')} and d.stage_entered_at is not null and d.stage_entered_at <> d.created_time as at_least
          from deals d where ${where} and d.state = 'open'
            ${opts.dealId ? sql`and d.id = ${opts.dealId}` : sql``}
        ), risky as not materialized (
          select * from flagged where (stuck or overdue or slipping or quiet)
            ${opts.reason ? sql`and ${sql.raw(opts.reason)}` : sql``}
        ), counts as (
          select count(*)::int as n_total,
                 count(*) filter (where stuck)::int as n_stuck,
                 count(*) filter (where stuck and up_to)::int as n_stuck_up_to,
                 count(*) filter (where overdue)::int as n_overdue,
                 count(*) filter (where slipping)::int as n_slipping,
                 count(*) filter (where quiet)::int as n_quiet,
                 sum(amount_sgd) as at_risk_amount
          from risky
        ), page as (
          select * from risky order by amount_sgd desc nulls last, id limit ${opts.limit}
        )
        select r.*, d.name, d.stage, d.owner_id, d.owner_name, d.closing_date,
               ${calendarDaysTo(sql`coalesce(d.stage_entered_at, d.created_time)`, ctx.today, tz)} as days_in_stage,
               ${calendarDaysTo(sql`coalesce(d.last_activity_time, d.created_time)`, ctx.today, tz)} as quiet_days,
               c.*, ${historyRefused(org)} as history_refused
        from page r join deals d on d.org_id = ${org} and d.id = r.id
        cross join counts c
        order by r.amount_sgd desc nulls last, r.id`,
  )
  const first = rows[0]
  return {
    currency: ctx.org.baseCurrency,
    today: ctx.today,
    counts: {
      total: first?.n_total ?? 0,
      stuck: first?.n_stuck ?? 0,
      stuckUpTo: first?.n_stuck_up_to ?? 0,
      overdue: first?.n_overdue ?? 0,
      slipping: first?.n_slipping ?? 0,
      quiet: first?.n_quiet ?? 0,
    },
    amount: money(first?.at_risk_amount, ctx.org.baseCurrency),
    quietDays,
    thresholds: thresholds.map(({ stage, days, source }) => ({ stage, days, source })),
    deals: rows.map((r) => ({
      id: r.id,
      name: r.name,
      stage: r.stage,
      ownerId: r.owner_id,
      ownerName: r.owner_name,
      amountSgd: r.amount_sgd === null ? null : money(r.amount_sgd, ctx.org.baseCurrency),
      closingDate: r.closing_date,
      daysInStage: r.days_in_stage,
      daysInStageUpTo: r.up_to,
      daysInStageAtLeast: r.at_least,
      zohoUrl: zohoDealUrl(ctx.org, r.id),
      reasons: [
        ...(r.stuck ? [stuckReason(r, thresholdOf.get(r.stage) ?? MIN_STALE_DAYS)] : []),
        ...(r.overdue ? [reason('overdue', `Closing date ${r.closing_date} has passed`)] : []),
        ...(r.slipping ? [reason('slipping', `Closing date moved later ${r.pushes} times`)] : []),
        ...(r.quiet ? [reason('quiet', `No activity for ${r.quiet_days} days`)] : []),
      ],
    })),
  }
}
