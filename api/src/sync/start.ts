import { sql } from 'drizzle-orm'
import { query, type Db } from '../db/client'
import {
  DEFAULTS,
  minusSeconds,
  type Checkpoint,
  type RunSettings,
  type SyncKind,
  type SyncTrigger,
} from './checkpoint'
import { acquireLease, releaseLease } from './lease'
import { jsonParam } from './metadata'
import type { SyncContext } from './session'

/*
 * Starting a run: takes the org's lease and picks what to drive: the open run, resumed; a new run
 * continuing a recent failed run's checkpoint; or a new full, incremental or ids (Watch) run. An
 * open run that has outlived Zoho's deleted list or the weekly full pass is replaced by a full sync.
 */

export interface StartOptions extends RunSettings {
  trigger: SyncTrigger
  /** Forced kind; default full when the org was never fully synced, else incremental. */
  kind?: 'full' | 'incremental'
  startedBy?: string | null
  /** For kind 'ids' (Watch callbacks). */
  ids?: string[]
  leaseSeconds?: number
}

const MAX_ZOHO_PER_PAGE = 200

/** The errors of the open runs startSync fails instead of resuming them. */
const IDS_RUN_ABANDONED = 'Its process ended before it finished; the next incremental sync reads its deals'
const RUN_OUTLIVED_DELETED_LIST = 'Left unfinished longer than Zoho lists deletions; replaced by a full sync'
const RUN_FULL_PASS_DUE = 'Left unfinished until the weekly full sync came due; replaced by a full sync'

function newCheckpoint(
  kind: SyncKind,
  settings: RunSettings,
  ctx: SyncContext,
  state: { modifiedCursor: string | null; deletedCursor: string | null; metadataFresh: boolean },
): Checkpoint {
  const overlap = settings.overlapSeconds ?? DEFAULTS.overlapSeconds
  const incremental = kind === 'incremental'
  return {
    kind,
    phase: kind === 'ids' ? 'ids' : incremental && state.metadataFresh ? 'deals' : 'metadata',
    perPage: Math.min(MAX_ZOHO_PER_PAGE, settings.perPage ?? ctx.config.SYNC_BATCH_SIZE),
    tokenWindowRecords: settings.tokenWindowRecords ?? DEFAULTS.tokenWindowRecords,
    overlapSeconds: overlap,
    historyBudget: settings.historyBudget ?? DEFAULTS.historyBudget,
    windowSince: incremental && state.modifiedCursor ? minusSeconds(state.modifiedCursor, overlap) : null,
    pageToken: null,
    windowRecords: 0,
    firstModified: null,
    maxModified: null,
    sweepBefore: null,
    deletedSince: incremental && state.deletedCursor ? minusSeconds(state.deletedCursor, overlap) : null,
    deletedPage: 1,
    maxDeleted: null,
    historyCalls: 0,
    historyFailed: false,
    metadataRefreshed: false,
    ids: [],
    ...(kind === 'full' ? {} : { touched: [] }),
  }
}

export interface Started {
  runId: string
  holder: string
  resumed: boolean
}

/**
 * Takes the org's lease and returns the run to drive: an unfinished run left by a dead or
 * budget-stopped holder (resumed from its checkpoint), a new run continuing a failed run's
 * checkpoint, or a new run. Null when a live holder is syncing the org.
 */
export async function startSync(
  ctx: SyncContext,
  orgId: string,
  opts: StartOptions,
): Promise<Started | null> {
  const holder = crypto.randomUUID()
  if (!(await acquireLease(ctx.db, orgId, holder, opts.leaseSeconds ?? DEFAULTS.leaseSeconds))) return null
  try {
    // An ids run is never resumed: one still open has lost its holder (the lease is ours now).
    await ctx.db.execute(sql`update sync_runs set status = 'failed', phase = 'failed', finished_at = now(),
      error = ${IDS_RUN_ABANDONED} where org_id = ${orgId} and kind = 'ids' and status in ('queued', 'running')`)
    if (opts.ids) {
      // A full or incremental run still open (between Workflow steps, or paused) reads these deals,
      // or the next incremental does: an ids run would only take the lease from it.
      const [open] = await query<{ id: string }>(
        ctx.db,
        sql`select id from sync_runs where org_id = ${orgId} and status in ('queued', 'running') limit 1`,
      )
      if (open) {
        await releaseLease(ctx.db, orgId, holder)
        return null
      }
      const cp = newCheckpoint('ids', opts, ctx, {
        modifiedCursor: null,
        deletedCursor: null,
        metadataFresh: true,
      })
      cp.ids = [...new Set(opts.ids)]
      return { runId: await insertRun(ctx.db, orgId, 'ids', opts, cp), holder, resumed: false }
    }
    // `outlived`: the deleted list may no longer hold every deletion the open run would rely on.
    // An incremental one reads deletions since the last run that succeeded (none has while it is
    // open); a full one trusts the list from its start (its sweep misses deals it saw, then deleted).
    // `full_due`: an open incremental run (paused, say) while a full pass came due (weekly, or the
    // day after a first sync whose list shifted under it: DEFAULTS.rerunFirstFullAfterHours).
    const [open] = await query<{ id: string; outlived: boolean; full_due: boolean }>(
      ctx.db,
      sql`select r.id, coalesce(case when r.kind = 'full' then r.started_at else s.last_success_at end
                   < now() - make_interval(days => ${DEFAULTS.deletedListedDays}), false) as outlived,
                 coalesce(r.kind = 'incremental'
                   and (s.last_full_sync_at <= now() - make_interval(days => ${DEFAULTS.fullSyncEveryDays})
                        or s.full_sync_due_at <= now()),
                   false) as full_due
          from sync_runs r left join sync_state s on s.org_id = r.org_id
          where r.org_id = ${orgId} and r.status in ('queued', 'running') and r.kind <> 'ids'
          order by r.started_at desc limit 1`,
    )
    if (open && !opts.kind && !open.outlived && !open.full_due) {
      // A paused run's reason no longer holds once it is driven again (or it pauses again).
      await ctx.db.execute(sql`update sync_runs set error = null where id = ${open.id} and error is not null`)
      return { runId: open.id, holder, resumed: true }
    }
    if (open)
      await ctx.db.execute(sql`update sync_runs set status = 'failed', phase = 'failed', finished_at = now(),
        error = ${opts.kind ? 'Superseded by a new run' : open.outlived ? RUN_OUTLIVED_DELETED_LIST : RUN_FULL_PASS_DUE}
        where id = ${open.id}`)
    // Such a run is replaced by a full pass, whose sweep finds the deletions the list forgot.
    const forced = opts.kind ?? (open?.outlived || open?.full_due ? 'full' : undefined)

    const [state] = await query<{
      modified_cursor: string | null
      deleted_cursor: string | null
      last_full_sync_at: string | null
      full_sync_due: boolean
      fresh: boolean
      full_pass_due: boolean
    }>(
      ctx.db,
      sql`select modified_cursor::text, deleted_cursor::text, last_full_sync_at::text, full_sync_due,
            coalesce(metadata_refreshed_at > now() - make_interval(hours => ${DEFAULTS.metadataMaxAgeHours}), false) as fresh,
            coalesce(last_success_at < now() - make_interval(days => ${DEFAULTS.deletedListedDays}), false)
              or coalesce(last_full_sync_at <= now() - make_interval(days => ${DEFAULTS.fullSyncEveryDays}), false)
              or coalesce(full_sync_due_at <= now(), false)
              as full_pass_due
          from sync_state where org_id = ${orgId}`,
    )
    const kind: 'full' | 'incremental' =
      forced ??
      (state?.last_full_sync_at && !state.full_sync_due && !state.full_pass_due ? 'incremental' : 'full')

    // A failed run of the same kind in the last day is continued from its checkpoint, not redone.
    const [failed] = await query<{ checkpoint: Checkpoint | string }>(
      ctx.db,
      sql`select checkpoint from sync_runs where org_id = ${orgId} and kind = ${kind} and kind <> 'ids'
          and started_at > now() - interval '1 day'
          order by started_at desc limit 1`,
    )
    const prior =
      failed && (typeof failed.checkpoint === 'string' ? JSON.parse(failed.checkpoint) : failed.checkpoint)
    let cp: Checkpoint
    if (prior?.resumable && !opts.kind) {
      cp = { ...(prior as Checkpoint), resumable: false }
    } else {
      cp = newCheckpoint(kind, opts, ctx, {
        modifiedCursor: state?.modified_cursor ?? null,
        deletedCursor: state?.deleted_cursor ?? null,
        metadataFresh: Boolean(state?.fresh),
      })
    }
    const runId = await insertRun(ctx.db, orgId, kind, opts, cp)
    if (kind === 'full' && !cp.sweepBefore) {
      // Deals not seen by this pass (synced_at older than the run) are swept at its end.
      const [r] = await query<{ t: string }>(
        ctx.db,
        sql`select started_at::text as t from sync_runs where id = ${runId}`,
      )
      cp.sweepBefore = r!.t
      await ctx.db.execute(sql`update sync_runs set checkpoint = ${jsonParam(cp)} where id = ${runId}`)
    }
    return { runId, holder, resumed: Boolean(prior?.resumable && !opts.kind) }
  } catch (e) {
    await releaseLease(ctx.db, orgId, holder)
    throw e
  }
}

async function insertRun(db: Db, orgId: string, kind: SyncKind, opts: StartOptions, cp: Checkpoint) {
  const runId = crypto.randomUUID()
  await db.execute(
    sql`insert into sync_runs (id, org_id, kind, trigger, status, phase, started_by, checkpoint)
        values (${runId}, ${orgId}, ${kind}, ${opts.trigger}, 'running', ${cp.phase}, ${opts.startedBy ?? null},
                ${jsonParam(cp)})`,
  )
  return runId
}
