import {
  bigint,
  bigserial,
  boolean,
  date,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  serial,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core'
import { sql } from 'drizzle-orm'

/*
 * Conventions: every tenant table carries org_id (the Zoho org id, text). Zoho ids are text (19 digits,
 * beyond 2^53). Money is numeric (never float). Zoho datetimes are timestamptz; Closing_Date is a date.
 */

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' })
const day = (name: string) => date(name, { mode: 'string' })
const money = (name: string) => numeric(name)

// ---------------------------------------------------------------------------------------------- orgs

export const orgs = pgTable('orgs', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  timeZone: text('time_zone').notNull().default('UTC'),
  /** Zoho's home currency (org.iso_code); Exchange_Rate on deals is relative to it. */
  homeCurrency: text('home_currency').notNull(),
  multiCurrency: boolean('multi_currency').notNull().default(false),
  /** Reporting currency (BASE_CURRENCY). */
  baseCurrency: text('base_currency').notNull().default('SGD'),
  /** Per-DC CRM web host used for record links, e.g. https://crm.zoho.com. */
  crmHost: text('crm_host').notNull().default('https://crm.zoho.com'),
  domainName: text('domain_name'),
  /** 1 = January. */
  fiscalYearStartMonth: smallint('fiscal_year_start_month').notNull().default(1),
  /** Settings an admin can change: stale thresholds per stage, quiet days, role overrides live in users. */
  settings: jsonb('settings').$type<OrgSettings>().notNull().default({}),
  widgetSecretEnc: text('widget_secret_enc'),
  widgetSecretRotatedAt: tstz('widget_secret_rotated_at'),
  createdAt: tstz('created_at').notNull().defaultNow(),
  updatedAt: tstz('updated_at').notNull().defaultNow(),
})

export interface OrgSettings {
  /** Days in stage after which an open deal is "stuck", by stage display value. */
  staleDaysByStage?: Record<string, number>
  quietDays?: number
}

export const zohoConnections = pgTable('zoho_connections', {
  orgId: text('org_id')
    .primaryKey()
    .references(() => orgs.id, { onDelete: 'cascade' }),
  accountsServer: text('accounts_server').notNull(),
  apiDomain: text('api_domain').notNull(),
  /** AES-GCM under a key derived from SECRET_KEY. */
  refreshTokenEnc: text('refresh_token_enc').notNull(),
  /** Cached access token shared by every worker/isolate, so refreshes stay under Zoho's 10 per 10 min. */
  accessTokenEnc: text('access_token_enc'),
  accessTokenExpiresAt: tstz('access_token_expires_at'),
  /** Recent refresh times (ISO strings) for the 10-per-10-minutes budget. */
  refreshLog: jsonb('refresh_log').$type<string[]>().notNull().default([]),
  /** Set while one caller refreshes the access token, so other processes wait instead of refreshing too. */
  refreshLeaseUntil: tstz('refresh_lease_until'),
  scopes: text('scopes'),
  status: text('status', { enum: ['active', 'broken', 'revoked'] })
    .notNull()
    .default('active'),
  lastError: text('last_error'),
  connectedByUserId: text('connected_by_user_id'),
  createdAt: tstz('created_at').notNull().defaultNow(),
  updatedAt: tstz('updated_at').notNull().defaultNow(),
})

// ------------------------------------------------------------------------------------- users, roles

export const roles = pgTable(
  'roles',
  {
    orgId: text('org_id').notNull(),
    id: text('id').notNull(),
    name: text('name').notNull(),
    /** Parent role (Zoho reporting_to). */
    reportsToId: text('reports_to_id'),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.id] })],
)

export const users = pgTable(
  'users',
  {
    orgId: text('org_id').notNull(),
    id: text('id').notNull(),
    zuid: text('zuid'),
    fullName: text('full_name').notNull(),
    email: text('email'),
    /** active | inactive | disabled | deleted, as Zoho reports it. */
    status: text('status').notNull(),
    roleId: text('role_id'),
    profileId: text('profile_id'),
    profileName: text('profile_name'),
    reportingToId: text('reporting_to_id'),
    timeZone: text('time_zone'),
    /** Admin override of the derived app role (admin | manager | rep). */
    appRoleOverride: text('app_role_override', { enum: ['admin', 'manager', 'rep'] }),
    updatedAt: tstz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('users_org_role_idx').on(t.orgId, t.roleId),
    index('users_zuid_idx').on(t.zuid),
  ],
)

// ------------------------------------------------------------------------------------------ stages

export const pipelines = pgTable(
  'pipelines',
  {
    orgId: text('org_id').notNull(),
    id: text('id').notNull(),
    layoutId: text('layout_id'),
    displayValue: text('display_value').notNull(),
    actualValue: text('actual_value').notNull(),
    isDefault: boolean('is_default').notNull().default(false),
    /** Stage display values in pipeline order. */
    stages: jsonb('stages').$type<string[]>().notNull().default([]),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.id] })],
)

/** The Deals Stage picklist: the only source of open/won/lost, probability and forecast category. */
export const stages = pgTable(
  'stages',
  {
    orgId: text('org_id').notNull(),
    displayValue: text('display_value').notNull(),
    actualValue: text('actual_value').notNull(),
    zohoId: text('zoho_id'),
    sequence: integer('sequence').notNull(),
    probability: smallint('probability'),
    state: text('state', { enum: ['open', 'won', 'lost'] }).notNull(),
    forecastType: text('forecast_type'),
    forecastCategory: text('forecast_category'),
    used: boolean('used').notNull().default(true),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.displayValue] }),
    index('stages_actual_idx').on(t.orgId, t.actualValue),
  ],
)

// ------------------------------------------------------------------------------------------- deals

export const DEAL_STATES = ['open', 'won', 'lost', 'unknown'] as const
export const FX_SOURCES = ['identity', 'provider', 'provider_nearest', 'zoho'] as const

/**
 * The hot table the analytics read: narrow and indexed. The Zoho record itself is not kept: the sync
 * asks only for the fields it maps, so every one of them is a column here.
 * amount_sgd is null exactly when the deal is unpriced.
 */
export const deals = pgTable(
  'deals',
  {
    orgId: text('org_id').notNull(),
    id: text('id').notNull(),
    name: text('name').notNull(),
    /** Stage display value (matched from display or actual value); raw value when unknown. */
    stage: text('stage').notNull(),
    state: text('state', { enum: DEAL_STATES }).notNull(),
    forecastCategory: text('forecast_category'),
    pipeline: text('pipeline'),
    ownerId: text('owner_id'),
    ownerName: text('owner_name'),
    accountName: text('account_name'),
    territory: text('territory'),
    /** In the deal's own currency; null when Zoho has no Amount (counts as 0). */
    amount: money('amount'),
    currency: text('currency').notNull(),
    /** Zoho's per-record rate: deal-currency units per one unit of the org's home currency. */
    zohoExchangeRate: money('zoho_exchange_rate'),
    /** The deal's own Probability; null when unset. */
    probability: smallint('probability'),
    /** Deal's probability, else its stage's default. */
    effectiveProbability: smallint('effective_probability'),
    amountSgd: money('amount_sgd'),
    weightedSgd: money('weighted_sgd'),
    /** Base-currency units per one unit of the deal currency, as used (exact). */
    fxRate: money('fx_rate'),
    fxDate: day('fx_date'),
    fxSource: text('fx_source', { enum: FX_SOURCES }),
    fxEstimated: boolean('fx_estimated').notNull().default(false),
    closingDate: day('closing_date'),
    createdTime: tstz('created_time').notNull(),
    modifiedTime: tstz('modified_time').notNull(),
    lastActivityTime: tstz('last_activity_time'),
    stageEnteredAt: tstz('stage_entered_at'),
    /** Times the closing date moved later, as observed. */
    closingPushCount: integer('closing_push_count').notNull().default(0),
    /**
     * Times the closing date moved later along the deal's daily snapshot versions, kept by
     * takeSnapshot so the risk list need not read every version (1M of them at 1M deals).
     */
    snapshotPushCount: integer('snapshot_push_count').notNull().default(0),
    /**
     * The furthest open stage (display value, by picklist sequence) the deal's stage history
     * reached, kept by a trigger on stage_history (migration 0008) so the funnel need not read the
     * history. Null: no history row of an open stage in use.
     */
    furthestStage: text('furthest_stage'),
    /** When Zoho's Stage_History for this deal was read (null: not backfilled yet). */
    historyBackfilledAt: tstz('history_backfilled_at'),
    syncedAt: tstz('synced_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    // Period scans (won/lost in P, forecast) for the whole org and for one owner's deals (reps).
    index('deals_org_state_close_idx').on(t.orgId, t.state, t.closingDate),
    index('deals_org_owner_idx').on(t.orgId, t.ownerId, t.state, t.closingDate),
    index('deals_org_stage_idx').on(t.orgId, t.stage),
    // The deals list's default sort (closing date, nulls last, then id) for keyset pages.
    index('deals_org_close_sort_idx').on(t.orgId, sql`coalesce(${t.closingDate}, '9999-12-31'::date)`, t.id),
    index('deals_org_owner_close_sort_idx').on(
      t.orgId,
      t.ownerId,
      sql`coalesce(${t.closingDate}, '9999-12-31'::date)`,
      t.id,
    ),
    index('deals_org_modified_idx').on(t.orgId, t.modifiedTime),
    // Created-date cohorts (the funnel): owner, state, stage and furthest stage in the index too, so a cohort
    // is counted from the index alone, for the org or one owner (a rep's funnel at 1M deals read
    // the heap of all the owner's deals: 330 ms, 60 ms from the index).
    index('deals_org_created_idx').on(t.orgId, t.createdTime, t.ownerId, t.state, t.stage, t.furthestStage),
    // The data-quality list: the few deals with no amount, no SGD amount or an unknown stage. The
    // columns its issues and a rep's scope test are in the index, so each is counted from it alone.
    index('deals_quality_idx')
      .on(t.orgId, t.id, t.ownerId, t.state, t.amountSgd, t.amount)
      .where(sql`${t.amountSgd} is null or ${t.amount} is null or ${t.state} = 'unknown'`),
    // The risk list: open deals by amount (its page order), with every column its flags and a rep's
    // scope read, so its counts and its page come from this index alone. At 1M deals the heap of
    // 133,000 open deals spans 18,000 pages (330 ms for a whole org); the index is 22 MB (45 ms).
    index('deals_open_risk_idx')
      .on(
        t.orgId,
        t.amountSgd.desc().nullsLast(),
        t.id,
        t.ownerId,
        t.stage,
        t.stageEnteredAt,
        t.createdTime,
        t.lastActivityTime,
        t.closingDate,
        t.closingPushCount,
        t.snapshotPushCount,
        t.historyBackfilledAt,
        // Always 'open' here, but historyToRead tests it, and an index-only scan needs every column.
        t.state,
      )
      .where(sql`${t.state} = 'open'`),
  ],
)

export const stageHistory = pgTable(
  'stage_history',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orgId: text('org_id').notNull(),
    dealId: text('deal_id').notNull(),
    stage: text('stage').notNull(),
    enteredAt: tstz('entered_at').notNull(),
    amount: money('amount'),
    probability: smallint('probability'),
    closingDate: day('closing_date'),
    /** zoho = Stage_History backfill, sync = observed by our sync, watch = Watch callback. */
    source: text('source', { enum: ['zoho', 'sync', 'watch'] }).notNull(),
    zohoId: text('zoho_id'),
  },
  (t) => [
    uniqueIndex('stage_history_uniq').on(t.orgId, t.dealId, t.enteredAt, t.stage),
    index('stage_history_deal_idx').on(t.orgId, t.dealId, t.enteredAt),
  ],
)

/**
 * Each deal's stays in a stage, derived from stage_history by a trigger (migration 0008): rows by
 * display value, a run of rows of the same stage being one stay (an Amount edit, or display then
 * actual value, does not leave the stage), left_at the next stay's entered_at (null: the last).
 * Time in stage and the stuck thresholds read these instead of re-deriving them from every
 * history row per request (8.9 s at 1.7M history rows). left_on and days are in the org's time
 * zone (migration 0009; a change of it recomputes them), so the reports do no zone arithmetic.
 */
export const stageStays = pgTable(
  'stage_stays',
  {
    orgId: text('org_id').notNull(),
    dealId: text('deal_id').notNull(),
    stage: text('stage').notNull(),
    enteredAt: tstz('entered_at').notNull(),
    leftAt: tstz('left_at'),
    /** The date left_at falls on in the org's time zone (null while the stay lasts). */
    leftOn: day('left_on'),
    /** Calendar days from entered_at to left_at in the org's time zone (analytics/days.ts). */
    days: integer('days'),
    /**
     * The deal's owner now: set as the stay is derived, and again by a trigger on deals when the
     * owner changes (migration 0011), so a rep's or a team's time in stage reads their stays alone.
     */
    ownerId: text('owner_id'),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.dealId, t.enteredAt, t.stage] }),
    // Time in stage: stays that ended in a period, summed by stage from the index alone.
    index('stage_stays_left_on_idx').on(t.orgId, t.leftOn, t.stage, t.days, t.dealId),
    // The same for a rep or a team (an index range per owner).
    index('stage_stays_owner_left_on_idx').on(t.orgId, t.ownerId, t.leftOn, t.stage, t.days),
  ],
)

/**
 * stage_stays that ended, counted and summed by the day they ended on (org time zone) and stage:
 * what time in stage reads for a whole org, unfiltered (a quarter is ~90 days × stages rows instead
 * of 800,000 stays at 1M deals). Kept by refresh_stage_derived as it rewrites stays, rebuilt on a
 * change of zone (migration 0009); a scope or filter reads the stays joined to the deals.
 */
export const stayDayTotals = pgTable(
  'stay_day_totals',
  {
    orgId: text('org_id').notNull(),
    leftOn: day('left_on').notNull(),
    stage: text('stage').notNull(),
    stays: integer('stays').notNull(),
    days: bigint('days', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.leftOn, t.stage] })],
)

/**
 * The median calendar days (org time zone) won deals spent in each open stage, over their stays:
 * what the stuck thresholds default to. Filled by the first risk request that finds none and
 * emptied by refresh_stage_derived (every change of the history, a picklist change), so the
 * medians over every won stay (850,000 at 1M deals) are not recomputed per request.
 */
export const stageMedians = pgTable(
  'stage_medians',
  {
    orgId: text('org_id').notNull(),
    stage: text('stage').notNull(),
    median: numeric('median'),
    timeZone: text('time_zone').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.stage] })],
)

/**
 * Daily snapshots, stored as day-granular versions: a row holds a deal's end-of-day state for every
 * day in [valid_from, valid_to). "As of D" = rows with valid_from <= D < coalesce(valid_to, infinity).
 */
export const dealSnapshots = pgTable(
  'deal_snapshots',
  {
    orgId: text('org_id').notNull(),
    dealId: text('deal_id').notNull(),
    validFrom: day('valid_from').notNull(),
    validTo: day('valid_to'),
    stage: text('stage').notNull(),
    state: text('state', { enum: DEAL_STATES }).notNull(),
    amountSgd: money('amount_sgd'),
    weightedSgd: money('weighted_sgd'),
    probability: smallint('probability'),
    closingDate: day('closing_date'),
    ownerId: text('owner_id'),
    forecastCategory: text('forecast_category'),
    pipeline: text('pipeline'),
    createdDate: day('created_date'),
    /** Deal currency and territory, so every common filter also applies "as of" a day. */
    currency: text('currency'),
    territory: text('territory'),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.dealId, t.validFrom] }),
    index('deal_snapshots_range_idx').on(t.orgId, t.validFrom, t.validTo),
    // The waterfall, index-only: deals with a version ending or starting between A and B, and the
    // Start/End sums of the deals that did not change (amount and owner in the key: no INCLUDE in drizzle).
    index('deal_snapshots_to_idx').on(t.orgId, t.validTo, t.dealId),
    index('deal_snapshots_from_idx').on(t.orgId, t.validFrom, t.dealId),
    index('deal_snapshots_state_close_idx').on(
      t.orgId,
      t.state,
      t.closingDate,
      t.validFrom,
      t.validTo,
      t.ownerId,
      t.amountSgd,
    ),
    // At most one open version per deal: takeSnapshot compares them with the deals table every day
    // and inserts new versions with ON CONFLICT DO NOTHING against this index.
    uniqueIndex('deal_snapshots_open_idx')
      .on(t.orgId, t.dealId)
      .where(sql`valid_to is null`),
  ],
)

/** Trend rollup: one row per org, day and owner, written by the daily snapshot job. */
export const pipelineDaily = pgTable(
  'pipeline_daily',
  {
    orgId: text('org_id').notNull(),
    day: day('day').notNull(),
    ownerId: text('owner_id').notNull(),
    pipeline: text('pipeline').notNull().default(''),
    openCount: integer('open_count').notNull(),
    openAmount: money('open_amount').notNull(),
    openWeighted: money('open_weighted').notNull(),
    unpricedCount: integer('unpriced_count').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.day, t.ownerId, t.pipeline] })],
)

/**
 * Deal rollup by closing month: every deal of the org grouped by state, first day of its closing
 * month, owner, stage, pipeline, currency, territory and forecast category, with exact sums. Rebuilt
 * set-based after each FX repricing and daily snapshot, and after a successful sync run that may
 * have changed it (refreshAnalyticsRollups, rollupBehind); the analytics read it when no filter cuts a month in two, else the deals table.
 */
export const dealMonthRollup = pgTable(
  'deal_month_rollup',
  {
    orgId: text('org_id').notNull(),
    state: text('state', { enum: DEAL_STATES }).notNull(),
    closeMonth: day('close_month'),
    ownerId: text('owner_id'),
    ownerName: text('owner_name'),
    stage: text('stage').notNull(),
    pipeline: text('pipeline'),
    currency: text('currency').notNull(),
    territory: text('territory'),
    forecastCategory: text('forecast_category'),
    dealCount: integer('deal_count').notNull(),
    unpricedCount: integer('unpriced_count').notNull(),
    /** Σ amount_sgd (null when every deal of the group is unpriced). */
    amountSgd: money('amount_sgd'),
    /** Σ amount_sgd × effective probability (÷ 100 once, when shown). */
    weighted100: money('weighted100'),
    /** Σ days from created date (org time zone) to closing date. */
    cycleDays: integer('cycle_days'),
  },
  (t) => [index('deal_month_rollup_org_idx').on(t.orgId, t.state, t.closeMonth)],
)

/**
 * deal_month_rollup summed over owner, pipeline, currency, territory and forecast category: what
 * the whole-org summary and by-stage read when no filter narrows below a stage (about 500 rows at
 * 1M deals, against 32k in the full rollup). Refreshed with it, in the same transaction.
 */
export const dealMonthTotals = pgTable(
  'deal_month_totals',
  {
    orgId: text('org_id').notNull(),
    state: text('state', { enum: DEAL_STATES }).notNull(),
    closeMonth: day('close_month'),
    stage: text('stage').notNull(),
    dealCount: integer('deal_count').notNull(),
    unpricedCount: integer('unpriced_count').notNull(),
    amountSgd: money('amount_sgd'),
    weighted100: money('weighted100'),
    cycleDays: integer('cycle_days'),
  },
  (t) => [index('deal_month_totals_org_idx').on(t.orgId, t.state, t.closeMonth)],
)

/** When an org's rollups were last rebuilt: no row, no rollup (the analytics read the deals table). */
export const analyticsRollupState = pgTable('analytics_rollup_state', {
  orgId: text('org_id').primaryKey(),
  refreshedAt: tstz('refreshed_at').notNull().defaultNow(),
})

export const salesTargets = pgTable(
  'sales_targets',
  {
    orgId: text('org_id').notNull(),
    ownerId: text('owner_id').notNull(),
    periodStart: day('period_start').notNull(),
    periodEnd: day('period_end').notNull(),
    amount: money('amount').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.ownerId, t.periodStart] })],
)

// -------------------------------------------------------------------------------------------- sync

export const SYNC_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const

export const syncRuns = pgTable(
  'sync_runs',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull(),
    kind: text('kind', { enum: ['full', 'incremental', 'ids'] }).notNull(),
    trigger: text('trigger', { enum: ['cron', 'schedule', 'manual', 'cli', 'watch', 'startup'] }).notNull(),
    status: text('status', { enum: SYNC_STATUSES }).notNull().default('queued'),
    phase: text('phase').notNull().default('queued'),
    startedBy: text('started_by'),
    startedAt: tstz('started_at').notNull().defaultNow(),
    finishedAt: tstz('finished_at'),
    heartbeatAt: tstz('heartbeat_at').notNull().defaultNow(),
    pages: integer('pages').notNull().default(0),
    /** Deals new or changed (stored rows the run's copies differed from, or had not). */
    records: integer('records').notNull().default(0),
    /** Deals the run read from Zoho CRM, changed or not: what a re-sync's progress moves with. */
    recordsRead: integer('records_read').notNull().default(0),
    deletions: integer('deletions').notNull().default(0),
    apiCalls: integer('api_calls').notNull().default(0),
    /** Stage_History backfill calls, counted apart from the Deals calls (included in api_calls). */
    historyCalls: integer('history_calls').notNull().default(0),
    creditsRemaining: integer('credits_remaining'),
    estimatedTotal: integer('estimated_total'),
    error: text('error'),
    /** Where to resume: page token, window, modified-since cursor. Saved with each page. */
    checkpoint: jsonb('checkpoint').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index('sync_runs_org_started_idx').on(t.orgId, t.startedAt)],
)

/**
 * Zoho calls per org and minute, so API_RATE_LIMIT_PER_HOUR holds across processes and Worker
 * isolates: a trigger adds each rise of sync_runs.api_calls, recordZohoCalls the calls made outside
 * a run (sign-in, connect, Watch renewals), both through add_zoho_calls (migrations 0002, 0003); each
 * new client starts its hourly budget from the last hour's rows (zoho/call-minutes.ts).
 */
export const zohoCallMinutes = pgTable(
  'zoho_call_minutes',
  {
    orgId: text('org_id').notNull(),
    minute: tstz('minute').notNull(),
    calls: integer('calls').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.minute] })],
)

/** One row per org: the lease that keeps one sync per org at a time, and the incremental cursors. */
export const syncState = pgTable('sync_state', {
  orgId: text('org_id').primaryKey(),
  leaseOwner: text('lease_owner'),
  leaseExpiresAt: tstz('lease_expires_at'),
  modifiedCursor: tstz('modified_cursor'),
  deletedCursor: tstz('deleted_cursor'),
  lastFullSyncAt: tstz('last_full_sync_at'),
  lastSuccessAt: tstz('last_success_at'),
  metadataRefreshedAt: tstz('metadata_refreshed_at'),
  lastSnapshotDay: day('last_snapshot_day'),
  /**
   * Set when an incremental run could not list every deletion (more than the deleted list's pages
   * reach): the next run is a full sync, whose sweep removes what the list did not show.
   */
  fullSyncDue: boolean('full_sync_due').notNull().default(false),
  /**
   * A full sync comes due at this time: set by a first full sync whose list shifted under it too
   * far back to read again at once (DEFAULTS.rerunFirstFullAfterHours); cleared by a full sync.
   */
  fullSyncDueAt: tstz('full_sync_due_at'),
})

export const watchChannels = pgTable('watch_channels', {
  channelId: text('channel_id').primaryKey(),
  orgId: text('org_id').notNull(),
  token: text('token').notNull(),
  expiresAt: tstz('expires_at').notNull(),
})

// ---------------------------------------------------------------------------------------------- fx

/** Weekly rate sets (Monday), always base USD. Global, not per tenant: rates are public data. */
export const fxRateSets = pgTable(
  'fx_rate_sets',
  {
    id: serial('id').primaryKey(),
    weekDate: day('week_date').notNull(),
    base: text('base').notNull().default('USD'),
    source: text('source').notNull(),
    /** The provider's own timestamp for the quotes. */
    providerDate: tstz('provider_date'),
    fetchedAt: tstz('fetched_at').notNull().defaultNow(),
    kind: text('kind', { enum: ['latest', 'historical'] }).notNull(),
  },
  (t) => [uniqueIndex('fx_rate_sets_week_uniq').on(t.weekDate, t.base)],
)

export const fxRates = pgTable(
  'fx_rates',
  {
    setId: integer('set_id')
      .notNull()
      .references(() => fxRateSets.id, { onDelete: 'cascade' }),
    currency: text('currency').notNull(),
    /** Units of currency per 1 base unit (USD), exactly as the provider's string. */
    rate: numeric('rate').notNull(),
  },
  (t) => [primaryKey({ columns: [t.setId, t.currency] })],
)

/** The rate provider's health, one row per provider: what the FX status page reports. */
export const fxProviderStatus = pgTable('fx_provider_status', {
  provider: text('provider').primaryKey(),
  lastAttemptAt: tstz('last_attempt_at'),
  lastSuccessAt: tstz('last_success_at'),
  /** Reachable at the last attempt (false: network error, 5xx or 429 after retries). */
  reachable: boolean('reachable'),
  lastError: text('last_error'),
  /** When the plan last refused historical rates (403): nearest stored sets are used meanwhile. */
  historicalRefusedAt: tstz('historical_refused_at'),
  calls: integer('calls').notNull().default(0),
})

/**
 * A refresh of the latest rate set in progress (name 'latest'), so refreshes started together in
 * several processes spend one provider call: see refreshLatestOnce. A claim older than the
 * provider client's retries can take belongs to a process that died, and may be taken over.
 */
export const fxRefreshClaims = pgTable('fx_refresh_claims', {
  name: text('name').primaryKey(),
  holder: text('holder').notNull(),
  claimedAt: tstz('claimed_at').notNull(),
})

// ------------------------------------------------------------------------------------------- audit

export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orgId: text('org_id').notNull(),
    at: tstz('at').notNull().defaultNow(),
    actorUserId: text('actor_user_id'),
    action: text('action').notNull(),
    target: text('target'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    ip: text('ip'),
  },
  (t) => [index('audit_log_org_at_idx').on(t.orgId, t.at)],
)

/** Widget assertion nonces seen, for replay protection (kept until their assertion expires). */
export const authNonces = pgTable(
  'auth_nonces',
  {
    orgId: text('org_id').notNull(),
    nonce: text('nonce').notNull(),
    expiresAt: tstz('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.nonce] })],
)
