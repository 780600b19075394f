import { sql, type SQL } from 'drizzle-orm'
import { z } from 'zod'
import { query } from '../db/client'
import type { DealDetail, DealRow, DealsQuery, DealsResponse } from '#shared/contracts/deals'
import { isoDate } from '#shared/contracts/common'
import { badRequest, notFound } from '../http/errors'
import { historyRefused, historyToRead } from '../sync/history'
import { filterConditions, zohoDealUrl, type AnalyticsContext } from './context'
import { calendarDays, calendarDaysTo } from './days'
import { stageKeys } from './stage-keys'

/** Sort keys: null-free expressions (nulls sort as far-future/lowest) so keyset comparison is total. */
const SORTS: Record<DealsQuery['sort'], { expr: SQL; type: SQL }> = {
  closingDate: { expr: sql`coalesce(d.closing_date, date '9999-12-31')`, type: sql`date` },
  amount: { expr: sql`coalesce(d.amount_sgd, -1000000000000000)`, type: sql`numeric` },
  name: { expr: sql`d.name`, type: sql`text` },
  stage: { expr: sql`d.stage`, type: sql`text` },
  modified: { expr: sql`d.modified_time`, type: sql`timestamptz` },
}

const cursorSchema = z.tuple([z.string(), z.string()])

export function encodeCursor(key: string, id: string): string {
  return Buffer.from(JSON.stringify([key, id])).toString('base64url')
}

function decodeCursor(cursor: string): [string, string] {
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')))
  } catch {
    throw badRequest('cursor is not one this API issued', 'INVALID_INPUT')
  }
}

/** A real calendar date PostgreSQL accepts: zod rejects 30 February but passes year 0000, which it refuses. */
const realDate = (d: string) => isoDate.safeParse(d).success && d >= '0001-01-01'

/** timestamptz::text in the ISO DateStyle: '2024-12-18 13:15:00.123+05:30'. */
const TIMESTAMP_TEXT =
  /^(\d{4}-\d{2}-\d{2}) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?[+-](0\d|1[0-5])(:[0-5]\d){0,2}$/

/**
 * Whether a cursor's sort key is a value the sort's expression can produce (its ::text form), so the
 * ::type cast in the keyset comparison cannot fail: a forged cursor is a 400, never a database error.
 * Text keys only need to be free of NUL, which PostgreSQL text cannot hold.
 */
function validCursorKey(sort: DealsQuery['sort'], key: string): boolean {
  switch (sort) {
    case 'closingDate':
      return realDate(key)
    case 'amount':
      // Any length fits numeric: the cursor's own limit (1,000 characters) bounds it.
      return /^-?\d+(\.\d+)?$/.test(key)
    case 'modified': {
      const m = TIMESTAMP_TEXT.exec(key)
      return !!m && realDate(m[1]!)
    }
    case 'name':
    case 'stage':
      return !key.includes('\u0000')
  }
}

interface DealDbRow {
  id: string
  name: string
  stage: string
  state: DealRow['state']
  owner_id: string | null
  owner_name: string | null
  account_name: string | null
  pipeline: string | null
  territory: string | null
  currency: string
  amount: string | null
  amount_sgd: string | null
  weighted_sgd: string | null
  probability: number | null
  closing_date: string | null
  modified_time: string
  sort_key: string
}

export const DEAL_COLUMNS = sql`d.id, d.name, d.stage, d.state, d.owner_id, coalesce(u.full_name, d.owner_name) as owner_name,
  d.account_name, d.pipeline, d.territory, d.currency, d.amount::text as amount, d.amount_sgd::text as amount_sgd,
  d.weighted_sgd::text as weighted_sgd, d.effective_probability::int as probability, d.closing_date::text as closing_date,
  to_char(d.modified_time at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as modified_time`

const toRow = (ctx: AnalyticsContext, r: DealDbRow): DealRow => ({
  id: r.id,
  name: r.name,
  stage: r.stage,
  state: r.state,
  ownerId: r.owner_id,
  ownerName: r.owner_name,
  accountName: r.account_name,
  pipeline: r.pipeline,
  territory: r.territory,
  currency: r.currency,
  amount: r.amount,
  amountSgd: r.amount_sgd,
  weightedSgd: r.weighted_sgd,
  probability: r.probability,
  closingDate: r.closing_date,
  modifiedTime: r.modified_time,
  zohoUrl: zohoDealUrl(ctx.org, r.id),
})

/** Extra list filters beyond the common ones. */
export function listConditions(q: { state?: string; q?: string }): SQL[] {
  const out: SQL[] = []
  if (q.state) out.push(sql`d.state = ${q.state}`)
  if (q.q) out.push(sql`d.name ilike ${'%' + q.q.replace(/[\\%_]/g, (m) => '\\' + m) + '%'}`)
  return out
}

/** One page of deals in scope, ordered by (sort key, id) and continued with an opaque keyset cursor. */
export async function listDeals(ctx: AnalyticsContext, q: DealsQuery): Promise<DealsResponse> {
  const where = [await filterConditions(ctx, q, 'd'), ...listConditions(q)]
  const { expr, type } = SORTS[q.sort]
  const desc = q.dir === 'desc'
  if (q.cursor) {
    const [key, id] = decodeCursor(q.cursor)
    if (!validCursorKey(q.sort, key) || !/^\d{1,30}$/.test(id))
      throw badRequest('cursor is not one this API issued for this sort', 'INVALID_INPUT')
    const after = sql`(${expr}, d.id) ${sql.raw(desc ? '<' : '>')} (${key}::${type}, ${id})`
    where.push(after)
  }
  const dir = sql.raw(desc ? 'desc' : 'asc')
  const rows = await query<DealDbRow>(
    ctx.db,
    sql`select ${DEAL_COLUMNS}, ${expr}::text as sort_key
        from deals d left join users u on u.org_id = d.org_id and u.id = d.owner_id
        where ${sql.join(where, sql` and `)}
        order by ${expr} ${dir}, d.id ${dir}
        limit ${q.limit + 1}`,
  )
  const page = rows.slice(0, q.limit)
  const last = page[page.length - 1]
  return {
    // The amounts' currency, so clients label them with it rather than assume SGD.
    baseCurrency: ctx.org.baseCurrency,
    deals: page.map((r) => toRow(ctx, r)),
    nextCursor: rows.length > q.limit && last ? encodeCursor(last.sort_key, last.id) : null,
  }
}

/** One deal with stage history and FX provenance; a deal outside the viewer's scope is a 404. */
export async function dealDetail(ctx: AnalyticsContext, id: string): Promise<DealDetail> {
  const where = await filterConditions(ctx, {}, 'd')
  const tz = ctx.org.timeZone
  const iso = (col: string) => sql.raw(`to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`)
  const [r] = await query<
    DealDbRow & {
      created_time: string
      last_activity_time: string | null
      stage_entered_at: string | null
      days_in_stage: number | null
      closing_push_count: number
      fx_rate: string | null
      fx_date: string | null
      fx_source: DealDetail['fx']['source']
      fx_estimated: boolean
      zoho_exchange_rate: string | null
      history_pending: boolean
      history_unavailable: boolean
    }
  >(
    ctx.db,
    sql`select ${DEAL_COLUMNS}, '' as sort_key, ${iso('d.created_time')} as created_time,
               ${iso('d.last_activity_time')} as last_activity_time, ${iso('d.stage_entered_at')} as stage_entered_at,
               ${calendarDaysTo(sql`coalesce(d.stage_entered_at, d.created_time)`, ctx.today, tz)} as days_in_stage,
               d.closing_push_count, d.fx_rate::text as fx_rate, d.fx_date::text as fx_date, d.fx_source,
               d.fx_estimated, d.zoho_exchange_rate::text as zoho_exchange_rate,
               ${historyToRead('d')} and not h.refused as history_pending,
               ${historyToRead('d')} and h.refused as history_unavailable
        from deals d left join users u on u.org_id = d.org_id and u.id = d.owner_id
          cross join (select ${historyRefused(ctx.org.id)} as refused) h
        where ${where} and d.id = ${id}`,
  )
  if (!r) throw notFound('Deal not found')
  const history = await query<{
    stage: string
    entered_at: string
    left_at: string | null
    days: number
    amount: string | null
    probability: number | null
    closing_date: string | null
    source: string
  }>(
    ctx.db,
    // One entry per stay in a stage, by display value (DESIGN), as time in stage counts them: Zoho's
    // Stage_History may carry a stage's actual value, and writes a row for an Amount or Closing_Date
    // edit that kept the stage; such a row does not leave the stage. Days are calendar days (days.ts).
    sql`with keyed as (
          select coalesce(st.display_value, h.stage) as stage, h.entered_at, h.amount, h.probability,
                 h.closing_date, h.source
          from stage_history h left join (${stageKeys(ctx.org.id)}) st on st.key = h.stage
          where h.org_id = ${ctx.org.id} and h.deal_id = ${id}
        ), stays as (
          select x.*, lead(x.entered_at) over (order by x.entered_at, x.stage) as left_at
          from (select k.*, lag(k.stage) over (order by k.entered_at, k.stage) as prev from keyed k) x
          where x.prev is distinct from x.stage
        )
        select h.stage, ${iso('h.entered_at')} as entered_at, ${iso('h.left_at')} as left_at,
               coalesce(${calendarDays(sql`h.entered_at`, sql`h.left_at`, tz)}, ${calendarDaysTo(sql`h.entered_at`, ctx.today, tz)}) as days,
               h.amount::text as amount, h.probability::int as probability, h.closing_date::text as closing_date, h.source
        from stays h
        order by h.entered_at, h.stage`,
  )
  return {
    ...toRow(ctx, r),
    baseCurrency: ctx.org.baseCurrency,
    createdTime: r.created_time,
    lastActivityTime: r.last_activity_time,
    stageEnteredAt: r.stage_entered_at,
    daysInStage: r.days_in_stage,
    closingPushCount: r.closing_push_count,
    fx: {
      rate: r.fx_rate,
      date: r.fx_date,
      source: r.fx_source,
      estimated: r.fx_estimated,
      zohoExchangeRate: r.zoho_exchange_rate,
    },
    stageHistory: history.map((h) => ({
      stage: h.stage,
      enteredAt: h.entered_at,
      leftAt: h.left_at,
      days: h.days,
      amount: h.amount,
      probability: h.probability,
      closingDate: h.closing_date,
      source: h.source,
    })),
    historyPending: r.history_pending,
    historyUnavailable: r.history_unavailable,
  }
}
