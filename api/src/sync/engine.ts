import { sql } from 'drizzle-orm'
import { query, type Db } from '../db/client'
import { loadRateBook, repriceClosedDealsOfOrg, repriceOpenDeals } from '../fx/pricing'
import { newestSetInfo } from '../fx/store'
import { ZohoApiError } from '../zoho/errors'
import type { ListDealsParams, ZohoDealRecord } from '../zoho/types'
import { refreshRollupsAfterSync } from '../analytics/rollup'
import { warmStageMedians } from '../analytics/risk'
import {
  DEFAULTS,
  earliest,
  iso,
  loadRun,
  minusSeconds,
  ms,
  type Checkpoint,
  type Phase,
  type RunRow,
} from './checkpoint'
import { commit, inTx, touchedWholeOrg, type Progress } from './commit'
import { commitHeld, flushHeld, holdPage, MAX_HELD_ROWS } from './held-pages'
import { backfillHistory } from './history'
import { releaseLease } from './lease'
import { dealFields } from './map'
import { fetchDealsPage, prefetchDealsPage, settlePending } from './pages'
import { commitConfirmed, mapRecords, MAX_IDS_PER_STEP } from './records'
import { clientOf, prepare, refreshMetadata, SyncSession, type SyncContext } from './session'
import { deleteDeals, unseenDeals } from './write'

/*
 * The sync engine, as resumable steps. A run is a sync_runs row whose checkpoint says what to do
 * next; syncStep does one unit (one Zoho page, mostly) and commits its rows, the checkpoint and the
 * progress counters in ONE transaction, so a crash or kill at any point resumes from the last
 * commit with nothing lost or doubled. runSteps drives steps under a page/time budget (Node loop,
 * Worker cron); a Cloudflare Workflow can call syncStep once per step.do instead.
 *
 * Deals are read through page_token with sort_by=Modified_Time&sort_order=asc. A token reaches at
 * most 100,000 records, so before a window would pass that cap the engine opens a new token window
 * with If-Modified-Since = the last Modified_Time seen minus a small overlap; rows re-delivered by the
 * overlap are de-duplicated on (id, Modified_Time) by the upsert. The same rule ends every run: the
 * modified cursor becomes the last Modified_Time seen, and the next run starts its window there
 * (minus the overlap). A deal edited while a sync pages past it gets a Modified_Time later than what
 * that sync has seen, so it is read either at the end of the same window or by the next window/run.
 * Deletions come only from /Deals/deleted (since the deleted cursor), which lists one for 60 days:
 * a run after a longer silence is a full pass. A full pass also removes the deals it did not see,
 * once Zoho, asked by id, no longer returns them (a page_token may skip a deal: Zoho documents no
 * guarantee when the list changes under it).
 *
 * Here: syncStep, the phases of a run. Around it: checkpoint.ts (the checkpoint and run settings),
 * session.ts (what the steps of one invocation share), pages.ts (Deals page requests, one ahead),
 * held-pages.ts (pages held back while a commit runs), records.ts (records into rows, answers by
 * id), commit.ts (a step's atomic commit), history.ts (the Stage_History backfill), start.ts
 * (which run to drive), run.ts (driving runs under a budget: the entry points).
 */

/** Cumulative wall time per sync stage in this process (ms): read by the bench, costs two clock reads. */
export const stageTimes: Record<string, number> = {}
async function timed<T>(stage: string, fn: () => Promise<T>): Promise<T> {
  const t = performance.now()
  try {
    return await fn()
  } finally {
    stageTimes[stage] = (stageTimes[stage] ?? 0) + performance.now() - t
  }
}

function nextWindowSince(cp: Checkpoint): string | null {
  if (!cp.maxModified) return cp.windowSince
  let since = minusSeconds(cp.maxModified, cp.overlapSeconds)
  if (cp.windowSince && ms(since) <= ms(cp.windowSince)) since = cp.maxModified
  if (cp.windowSince && ms(since) <= ms(cp.windowSince)) since = iso(new Date(ms(cp.maxModified) + 1000))
  return since
}

/**
 * Where the next run reads from, if not from maxModified: the list shifted under this run's
 * page_token (Checkpoint.rereadFrom, as the page statements stored it). After a full run, only when
 * at most DEFAULTS.rereadMaxDeals stored deals lie past it; `tooFar` is the shift left unread.
 */
async function rereadCursor(
  tx: Db,
  run: RunRow,
  cp: Checkpoint,
): Promise<{ rereadFrom: string | null; tooFar?: string }> {
  const [stored] = await query<{ t: string | null }>(
    tx,
    sql`select checkpoint->>'rereadFrom' as t from sync_runs where id = ${run.id}`,
  )
  const t = stored?.t ?? null
  if (!t || cp.kind !== 'full') return { rereadFrom: t }
  const [past] = await query<{ n: number }>(
    tx,
    sql`select count(*)::int as n from (select 1 from deals where org_id = ${run.org_id}
          and modified_time >= ${t}::timestamptz limit ${DEFAULTS.rereadMaxDeals + 1}) x`,
  )
  return past!.n > DEFAULTS.rereadMaxDeals ? { rereadFrom: null, tooFar: t } : { rereadFrom: t }
}

export interface StepResult {
  done: boolean
  phase: Phase
}

/** One unit of work of a run, committed atomically with its checkpoint. */
export async function syncStep(
  ctx: SyncContext,
  runId: string,
  holder: string,
  s: SyncSession = new SyncSession(),
  leaseSeconds: number = DEFAULTS.leaseSeconds,
): Promise<StepResult> {
  const cached = s.run?.id === runId ? s.run : undefined
  s.run = undefined
  if (!cached) s.held = undefined
  // Only a following Deals page may run ahead of the previous page's commit.
  if (cached?.checkpoint.phase !== 'deals') await settlePending(s)
  const run = cached ?? (await timed('load_run', () => loadRun(ctx.db, runId)))
  if (!run) throw new Error(`No sync run ${runId}`)
  if (run.status === 'succeeded' || run.status === 'failed')
    return { done: true, phase: run.checkpoint.phase }
  const cp: Checkpoint = { ...run.checkpoint }
  const orgId = run.org_id
  const save = (p: Progress, extra?: (tx: Db) => Promise<unknown>) =>
    inTx(ctx, s, async (tx) => {
      if (extra) await extra(tx)
      await commit(tx, run, holder, cp, s, p, leaseSeconds)
    })

  switch (cp.phase) {
    case 'metadata': {
      await timed('metadata', () => refreshMetadata(ctx, s, orgId))
      cp.phase = 'deals'
      await save({})
      break
    }

    case 'deals': {
      const client = await clientOf(ctx, s, orgId)
      const { org } = await prepare(ctx, s, orgId)
      const params = (): ListDealsParams => ({
        fields: dealFields(org.multiCurrency),
        perPage: cp.perPage,
        sortBy: 'Modified_Time',
        sortOrder: 'asc',
        modifiedSince: cp.windowSince ?? undefined,
        pageToken: cp.pageToken ?? undefined,
      })
      let page
      try {
        page = await timed('fetch_parse', () => fetchDealsPage(client, s, cp, params()))
      } catch (e) {
        if (
          e instanceof ZohoApiError &&
          (e.restartPagination ||
            e.code === 'PAGINATION_LIMIT_EXCEEDED' ||
            // Any other 400 to a page_token request, e.g. INVALID_DATA for another user's token
            // (Zoho reconnected as someone else while the run waited): the window's first request
            // carries no token, so a 400 that is not the token's fails there instead.
            (e.status === 400 && cp.pageToken !== null))
        ) {
          // The token expired, no longer matches, or hit its cap: a new window from the last record seen.
          ctx.logger.warn('page token refused; new window', { orgId, runId, code: e.code })
          cp.windowSince = nextWindowSince(cp)
          cp.pageToken = null
          cp.windowRecords = 0
          // Pages held back go in with this checkpoint, which moves past them.
          if (s.held) await flushHeld(ctx, s, run, cp, holder, leaseSeconds)
          else await save({})
          break
        }
        throw e
      }
      const records = page.data
      // Each Modified_Time parsed once (records carry offsets, so strings do not compare).
      let first = cp.firstModified ? ms(cp.firstModified) : Infinity
      let max = cp.maxModified ? ms(cp.maxModified) : -Infinity
      for (const r of records) {
        const t = ms(r.Modified_Time)
        if (t < first) {
          first = t
          cp.firstModified = r.Modified_Time
        }
        if (t > max) max = t
      }
      if (max > (cp.maxModified ? ms(cp.maxModified) : -Infinity)) cp.maxModified = iso(new Date(max))
      cp.windowRecords += records.length
      const more = page.info.more_records && records.length > 0
      if (!more) {
        cp.phase = cp.kind === 'full' ? 'sweep' : 'deleted'
        cp.pageToken = null
      } else if (!page.info.next_page_token || cp.windowRecords + cp.perPage > cp.tokenWindowRecords) {
        cp.windowSince = nextWindowSince(cp)
        cp.pageToken = null
        cp.windowRecords = 0
      } else cp.pageToken = page.info.next_page_token
      // The page_token chain is sequential, but the next page can be on the wire while this one is
      // mapped and written. It is used only if this commit goes through and the next step asks for it.
      if (s.prefetch && cp.phase === 'deals') prefetchDealsPage(client, s, cp, params())
      const rows = await timed('map_price', () => mapRecords(ctx, s, run, cp, records))
      const { shifted, ...held } = holdPage(s.held, rows, s.book!.newest)
      if (shifted) cp.rereadFrom = earliest(cp.rereadFrom, shifted)
      s.held = undefined
      s.run = { ...run, checkpoint: cp }
      if (
        s.prefetch &&
        cp.phase === 'deals' &&
        s.pending &&
        !s.pendingSettled &&
        held.rows.length + cp.perPage <= MAX_HELD_ROWS
      ) {
        // The previous commit is still running: hold this page and read the next one.
        s.held = held
        break
      }
      // Pages commit in order: these go out once the previous ones are in.
      await timed('write_commit', () => settlePending(s))
      const committed = commitHeld(ctx, s, run, cp, holder, leaseSeconds, held)
      if (s.prefetch && cp.phase === 'deals') {
        // The next step maps its page while the database writes this one (two cores, not one).
        s.pendingSettled = false
        committed.then(
          () => (s.pendingSettled = true),
          () => (s.pendingSettled = true), // and its error is raised by the next step
        )
        s.pending = committed
      } else await timed('write_commit', () => committed)
      break
    }

    case 'deleted': {
      if (!cp.deletedSince) {
        cp.phase = 'history'
        await save({})
        break
      }
      const client = await clientOf(ctx, s, orgId)
      const res = await client.listDeletedDeals({
        page: cp.deletedPage,
        perPage: 200,
        modifiedSince: cp.deletedSince,
      })
      for (const d of res.data)
        if (!cp.maxDeleted || ms(d.deleted_time) > ms(cp.maxDeleted))
          cp.maxDeleted = iso(new Date(d.deleted_time))
      if (res.info.more_records && res.data.length && cp.deletedPage < DEFAULTS.deletedMaxPages)
        cp.deletedPage++
      else {
        if (res.info.more_records) {
          cp.deletedOverflow = true
          ctx.logger.warn('more deletions than a run can list; the next run is a full sync', { orgId, runId })
        }
        cp.phase = 'history'
      }
      await inTx(ctx, s, async (tx) => {
        const { deleted, months, rereadFrom } = await deleteDeals(
          tx,
          orgId,
          res.data.map((d) => d.id),
          cp.kind === 'incremental' ? run.started_at : undefined,
        )
        if (rereadFrom) cp.rereadFrom = earliest(cp.rereadFrom, rereadFrom)
        await commit(tx, run, holder, cp, s, { deletions: deleted, months, pages: 1 }, leaseSeconds)
      })
      break
    }

    case 'sweep': {
      // Deals this full pass did not see: gone from Zoho, or skipped by a page_token whose list
      // shifted under it (an edit or deletion behind it, ties at a page boundary: Zoho documents
      // no guarantee). Zoho, asked by id, tells which; the ones it still returns are written.
      const unseen = await timed('sweep', () =>
        unseenDeals(ctx.db, orgId, cp.sweepBefore!, cp.sweepAfter ?? null, MAX_IDS_PER_STEP),
      )
      if (!unseen.length) {
        cp.phase = 'history'
        await save({})
        break
      }
      const client = await clientOf(ctx, s, orgId)
      const { org } = await prepare(ctx, s, orgId)
      let records: ZohoDealRecord[]
      try {
        records = await client.getDealsByIds(unseen, dealFields(org.multiCurrency))
      } catch (e) {
        // Should Zoho refuse to be asked about ids it no longer has, the pass decides alone, as
        // before it asked: what it did not see is gone.
        if (!(e instanceof ZohoApiError && [400, 403, 404].includes(e.status))) throw e
        ctx.logger.warn('unseen deals could not be confirmed by id; removed', { orgId, runId, code: e.code })
        records = []
      }
      cp.sweepAfter = unseen.at(-1)!
      await commitConfirmed(ctx, s, run, holder, cp, leaseSeconds, unseen, records, 'sync')
      break
    }

    case 'history': {
      const left = cp.historyBudget - cp.historyCalls
      if (left <= 0 || cp.historyFailed) {
        cp.phase = 'finalize'
        await save({})
        break
      }
      await backfillHistory(ctx, s, run, cp, holder, Math.min(left, DEFAULTS.historyPerStep), leaseSeconds)
      break
    }

    case 'ids': {
      const client = await clientOf(ctx, s, orgId)
      const { org } = await prepare(ctx, s, orgId)
      const batch = cp.ids.slice(0, MAX_IDS_PER_STEP)
      const records = batch.length ? await client.getDealsByIds(batch, dealFields(org.multiCurrency)) : []
      cp.ids = cp.ids.slice(MAX_IDS_PER_STEP)
      if (!cp.ids.length) cp.phase = 'finalize'
      // Watch callbacks are hints, a "delete" too: a named deal goes only when Zoho, asked by id, no
      // longer returns it.
      await commitConfirmed(ctx, s, run, holder, cp, leaseSeconds, batch, records, 'watch')
      break
    }

    case 'finalize': {
      await timed('reprice', async () => {
        const newest = cp.pricedWith ? await newestSetInfo(ctx.db) : null
        // A newer set arrived mid-run from elsewhere: open deals this run wrote carry an older one.
        const repriceOpen = Boolean(newest && newest.fetchedAt > cp.pricedWith!)
        // Repricing moves deals of any closing month: the refresh below covers the whole org. Stored
        // first, so that a crash before the refresh does not forget it.
        if (repriceOpen || s.storedWeeks.size) await touchedWholeOrg(ctx.db, run.id)
        // Historical sets this session fetched also serve closed deals stored before it.
        await repriceClosedDealsOfOrg(ctx.db, orgId, [...s.storedWeeks])
        if (repriceOpen) {
          const { org } = await prepare(ctx, s, orgId)
          await repriceOpenDeals(ctx.db, await loadRateBook(ctx.db, org.baseCurrency), orgId)
        }
      })
      // Before the run is marked succeeded: a run that succeeded has its writes in the rollup
      // (the next run's refresh of its own months relies on it).
      await timed('rollups', () => refreshRollupsAfterSync(ctx.db, orgId, run.id, ctx.logger))
      // The stuck thresholds' medians, if the run's history writes emptied them. Only a speed-up
      // for the next risk request (which fills them itself): a failure here does not fail the run.
      await timed('medians', () =>
        warmStageMedians(ctx.db, orgId).catch((e: unknown) =>
          ctx.logger.warn('stage medians not filled', { orgId, runId, error: (e as Error).message }),
        ),
      )
      await inTx(ctx, s, async (tx) => {
        await commit(tx, run, holder, cp, s, {}, leaseSeconds)
        if (cp.kind !== 'ids') {
          // Deleted cursor: the newest deletion seen; after a full pass, its start (minus 5 minutes of
          // clock skew, since deletions are listed on Zoho's clock).
          // A deleted list it could not read to the end moves no cursor: the full sync due next
          // sets it.
          const deletedNext =
            cp.kind === 'full'
              ? iso(new Date(ms(cp.sweepBefore!) - 5 * 60_000))
              : cp.deletedOverflow
                ? null
                : (cp.maxDeleted ?? null)
          const { rereadFrom, tooFar } = await rereadCursor(tx, run, cp)
          if (rereadFrom)
            ctx.logger.info('deals changed under the page_token; the next run reads again from', {
              orgId,
              runId,
              rereadFrom,
            })
          if (tooFar)
            ctx.logger.info(
              'deals changed under the page_token past the reread limit; after a first sync a full pass comes due',
              {
                orgId,
                runId,
                since: tooFar,
              },
            )
          await tx.execute(sql`
            update sync_state set
              -- least() passes over a null rereadFrom
              modified_cursor = least(greatest(modified_cursor, ${cp.maxModified}::timestamptz), ${rereadFrom}::timestamptz),
              deleted_cursor = ${cp.kind === 'full' ? sql`${deletedNext}::timestamptz` : sql`greatest(deleted_cursor, ${deletedNext}::timestamptz)`},
              last_success_at = now(),
              last_full_sync_at = ${cp.kind === 'full' ? sql`now()` : sql`last_full_sync_at`},
              full_sync_due = ${cp.kind === 'full' ? false : sql`full_sync_due or ${Boolean(cp.deletedOverflow)}`},
              -- (last_full_sync_at here is the value before this update: null for a first sync)
              full_sync_due_at = ${
                cp.kind !== 'full'
                  ? sql`full_sync_due_at`
                  : tooFar
                    ? sql`case when last_full_sync_at is null
                            then now() + make_interval(hours => ${DEFAULTS.rerunFirstFullAfterHours}) end`
                    : sql`null`
              }
            where org_id = ${orgId}`)
        }
        await tx.execute(sql`update sync_runs set status = 'succeeded', phase = 'done', finished_at = now(),
          error = null where id = ${run.id}`)
        await releaseLease(tx, orgId, holder)
      })
      return { done: true, phase: 'finalize' }
    }
  }
  return { done: false, phase: cp.phase }
}
