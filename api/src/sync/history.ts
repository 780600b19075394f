import { sql, type SQL } from 'drizzle-orm'
import { query, type Db } from '../db/client'
import { STAGE_HISTORY_FIELDS } from '../zoho/client'
import { ZohoApiError } from '../zoho/errors'
import { MINIMAL_STAGE_HISTORY_FIELDS, isDealGone, narrowerHistoryFields } from '../zoho/history-fields'
import { DEFAULTS, type Checkpoint, type RunRow } from './checkpoint'
import { commit, inTx } from './commit'
import { jsonParam } from './metadata'
import { clientOf, prepare, type SyncContext, type SyncSession } from './session'

/*
 * The history phase: Stage_History read from Zoho for open and recently closed deals, a few per
 * step within the run's call budget, into stage_history and the deals' stage_entered_at and
 * closing_push_count. The fields an org refused are remembered for its later incremental runs
 * (how a refusal names them: zoho/history-fields.ts).
 */

/** The org's newest run that asked Zoho for Stage_History (what it learned of the org's list is newest). */
const newestHistoryRun = (orgId: string) =>
  sql`select checkpoint from sync_runs
      where org_id = ${orgId} and kind <> 'ids' and coalesce((checkpoint->>'historyCalls')::int, 0) > 0
      order by started_at desc limit 1`

/**
 * Whether Zoho refused the org's Stage_History the last time a run asked (a hidden or forbidden
 * related list: cp.historyFailed), as an SQL boolean. Its deals' history will not arrive with the
 * coming syncs, so the deal page and the risk list must not promise it.
 */
export function historyRefused(orgId: string): SQL {
  return sql`coalesce((select r.checkpoint->>'historyFailed' = 'true' from (${newestHistoryRun(orgId)}) r), false)`
}

/**
 * The Stage_History fields the newest run that read history settled on, after Zoho refused some
 * (undefined: none refused), limited to the ones we know how to read.
 */
async function rememberedHistoryFields(db: Db, orgId: string): Promise<string[] | undefined> {
  const [r] = await query<{ f: unknown }>(
    db,
    sql`select r.checkpoint->'historyFields' as f from (${newestHistoryRun(orgId)}) r`,
  )
  const f = typeof r?.f === 'string' ? (JSON.parse(r.f) as unknown) : r?.f
  if (!Array.isArray(f)) return undefined
  const known = f.filter((x): x is string => (STAGE_HISTORY_FIELDS as readonly string[]).includes(x))
  return MINIMAL_STAGE_HISTORY_FIELDS.every((m) => known.includes(m)) ? known : undefined
}

/**
 * The deals (table or alias `d`) whose Stage_History the backfill has still to read: open, or won
 * or lost with a closing date in the last historyRecentDays, and not read yet. The deal page says
 * so by the same rule.
 */
export function historyToRead(d: string): SQL {
  const c = (column: string) => sql.raw(`${d}.${column}`)
  return sql`(${c('history_backfilled_at')} is null and (${c('state')} = 'open' or (${c('state')} in ('won', 'lost')
    and ${c('closing_date')} >= current_date - ${DEFAULTS.historyRecentDays}::int)))`
}

/** Stage_History backfill for open and recently closed deals: bounded per run, resumable. */
export async function backfillHistory(
  ctx: SyncContext,
  s: SyncSession,
  run: RunRow,
  cp: Checkpoint,
  holder: string,
  n: number,
  leaseSeconds: number,
) {
  const orgId = run.org_id
  const deals = await query<{ id: string; stage: string }>(
    ctx.db,
    sql`select id, stage from deals where org_id = ${orgId} and ${historyToRead('deals')}
        order by modified_time desc limit ${n}`,
  )
  if (!deals.length) {
    cp.phase = 'finalize'
    await inTx(ctx, s, (tx) => commit(tx, run, holder, cp, s, {}, leaseSeconds).then(() => {}))
    return
  }
  const client = await clientOf(ctx, s, orgId)
  const { stages } = await prepare(ctx, s, orgId)
  const rows: {
    deal_id: string
    stage: string
    entered_at: string
    amount: string | null
    probability: number | null
    closing_date: string | null
    zoho_id: string
  }[] = []
  let calls = 0
  const gone: string[] = []
  // A full pass asks for every field again (an org may add one back): one refused call a week.
  if (cp.kind !== 'full') cp.historyFields ??= await rememberedHistoryFields(ctx.db, orgId)
  for (const d of deals) {
    try {
      let history
      let fields: readonly string[] = cp.historyFields ?? STAGE_HISTORY_FIELDS
      for (;;) {
        try {
          calls++
          history = await client.getStageHistory(d.id, fields)
          break
        } catch (e) {
          // An org without one of the fields we ask for (their names are not documented): the
          // fields it has, instead of no history at all.
          const narrower = narrowerHistoryFields(e, fields)
          if (!narrower) throw e
          ctx.logger.warn('Stage_History refused a field; retrying without it', {
            orgId,
            code: (e as ZohoApiError).code,
            refused: fields.filter((f) => !narrower.includes(f)),
          })
          fields = narrower
        }
      }
      // Kept for this run and the next ones once Zoho answered it: a narrower list refused as well
      // (a hidden list refusing whatever is asked) says nothing about the org's fields.
      if (fields !== (cp.historyFields ?? STAGE_HISTORY_FIELDS)) cp.historyFields = [...fields]
      for (const h of history)
        rows.push({
          deal_id: d.id,
          stage: stages.get(h.Stage)?.display ?? h.Stage,
          entered_at: (typeof h.Created_Time === 'string' && h.Created_Time) || h.Modified_Time,
          amount: h.Amount ?? null,
          probability: h.Probability ?? null,
          closing_date: h.Close_Date ?? null,
          zoho_id: h.id,
        })
    } catch (e) {
      if (isDealGone(e)) {
        // Deleted in Zoho since the deals pass: no history to read, the others still have theirs.
        // It counts as backfilled (marked with the batch below), so no later step or run asks
        // again; the row itself goes with the next run's deleted list (the deletion is newer than
        // this run's deleted cursor) or a full sync's sweep, and a deal restored from the recycle
        // bin comes back through the deals pass.
        gone.push(d.id)
        continue
      }
      if (e instanceof ZohoApiError && e.status < 500 && e.status !== 429 && e.status !== 401) {
        // The related list is hidden or not permitted in this org: stop backfilling this run.
        ctx.logger.warn('Stage_History unavailable; backfill skipped', { orgId, code: e.code })
        cp.historyFailed = true
        break
      }
      throw e
    }
  }
  if (gone.length && !cp.historyFailed) {
    // Marking them done without history is for good: Zoho, asked by id (as the sweep does), must
    // confirm they are gone. One it still returns means the refusal was not about the deal (a
    // hidden list, say): the backfill stops for this run, as for any other refusal. (A Deals call,
    // counted in the run's calls, not in its Stage_History budget.)
    const still = await client.getDealsByIds(gone, []).catch((e: unknown) => {
      if (e instanceof ZohoApiError && [400, 403, 404].includes(e.status)) return []
      throw e
    })
    if (still.length) {
      ctx.logger.warn('Stage_History refused deals Zoho still has; backfill skipped', { orgId })
      cp.historyFailed = true
    } else
      ctx.logger.info('Stage_History: deals deleted in Zoho since the deals pass; skipped', { orgId, gone })
  }
  const done = cp.historyFailed ? [] : deals.map((d) => d.id)
  cp.historyCalls += calls
  await inTx(ctx, s, async (tx) => {
    if (rows.length)
      await tx.execute(sql`
        insert into stage_history (org_id, deal_id, stage, entered_at, amount, probability, closing_date, source, zoho_id)
        select distinct on (x.deal_id, x.entered_at, x.stage)
          ${orgId}, x.deal_id, x.stage, x.entered_at, x.amount, x.probability, x.closing_date, 'zoho', x.zoho_id
        from jsonb_to_recordset(${jsonParam(rows)}) as x(deal_id text, stage text, entered_at timestamptz,
          amount numeric, probability smallint, closing_date date, zoho_id text)
        order by x.deal_id, x.entered_at, x.stage, x.zoho_id desc
        -- A change our sync already observed at the same moment: Zoho's row is the authority.
        on conflict (org_id, deal_id, entered_at, stage) do update set source = 'zoho', zoho_id = excluded.zoho_id,
          amount = excluded.amount, probability = excluded.probability, closing_date = excluded.closing_date`)
    if (done.length)
      await tx.execute(sql`
        with ids as (select jsonb_array_elements_text(${jsonParam(done)}) as id),
        zoho as (
          select h.deal_id, max(h.entered_at) as last_at from stage_history h join ids on h.deal_id = ids.id
          where h.org_id = ${orgId} and h.source = 'zoho' group by h.deal_id
        ),
        superseded as (
          delete from stage_history h using zoho
          where h.org_id = ${orgId} and h.deal_id = zoho.deal_id and h.source <> 'zoho' and h.entered_at <= zoho.last_at
          returning 1
        ),
        -- The deal entered its current stage at the start of its last stay (Zoho may write a row
        -- for an edit that kept the stage; rows by display value), kept by the trigger on
        -- stage_history from the rows the statement before this one wrote.
        entered as (
          select s.deal_id, s.stage, s.entered_at from stage_stays s join ids on s.deal_id = ids.id
          where s.org_id = ${orgId} and s.left_at is null
        ),
        -- Moves later of the closing date along Zoho's rows (each has the Close_Date of its time),
        -- then to the closing date now: a move after the last row shows only there.
        pushes as (
          select deal_id, count(*) filter (where closing_date > prev)::int as n from (
            select x.deal_id, x.closing_date, lag(x.closing_date) over (partition by x.deal_id order by x.at) as prev
            from (select h.deal_id, h.closing_date, h.entered_at as at
                  from stage_history h join ids on h.deal_id = ids.id where h.org_id = ${orgId} and h.source = 'zoho'
                  union all
                  select d.id, d.closing_date, 'infinity'::timestamptz
                  from deals d join ids on d.id = ids.id where d.org_id = ${orgId}) x
          ) t group by deal_id
        )
        update deals d set history_backfilled_at = now(),
          stage_entered_at = case when e.stage = d.stage then e.entered_at else d.stage_entered_at end,
          closing_push_count = greatest(d.closing_push_count, coalesce(p.n, 0))
        from ids left join entered e on e.deal_id = ids.id left join pushes p on p.deal_id = ids.id
        where d.org_id = ${orgId} and d.id = ids.id`)
    await commit(tx, run, holder, cp, s, { historyCalls: calls }, leaseSeconds)
  })
}
