import { sql, type SQL } from 'drizzle-orm'
import { query } from '../db/client'
import { EXPORT_COLUMNS } from '#shared/contracts/deals'
import type { Filters } from '#shared/contracts/common'
import { filterConditions, zohoDealUrl, type AnalyticsContext } from './context'
import { listConditions } from './deals'

const BATCH = 1000

/**
 * A value Excel/Sheets would run as a formula (OWASP CSV injection), unless it is a plain number.
 * With the full-width forms ＝ ＋ － ＠ (U+FF1D, U+FF0B, U+FF0D, U+FF20): Excel under a Japanese or
 * Chinese locale/IME takes them as = + - @ and runs "＝HYPERLINK(…)" as well.
 */
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/
const PLAIN_NUMBER = /^-?\d+(\.\d+)?$/

/**
 * RFC 4180: quote fields holding a comma, quote, CR or LF; double inner quotes. Text from Zoho
 * that starts like a formula ("=HYPERLINK(…)", "+1…", "@SUM(…)") gets a leading ' and quotes, so
 * a spreadsheet shows it as text instead of running it; negative amounts stay numbers.
 */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return ''
  const s = String(v)
  if (FORMULA_START.test(s) && !PLAIN_NUMBER.test(s)) return `"'${s.replace(/"/g, '""')}"`
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export const csvLine = (fields: unknown[]) => fields.map(csvField).join(',') + '\r\n'

/**
 * The deals CSV as an async sequence of chunks: header, then rows fetched in keyset batches of
 * 1,000 by id, so memory stays flat however many deals are in scope. Filters are checked (403 for
 * an owner outside scope) and the first batch is read before anything is streamed: once the 200 and
 * the header are sent an error can only cut the body short, so a query that fails outright must fail
 * here, as a JSON error.
 */
export async function exportDealsCsv(
  ctx: AnalyticsContext,
  filters: Filters & { state?: string; q?: string },
): Promise<AsyncGenerator<string>> {
  const where = [await filterConditions(ctx, filters, 'd'), ...listConditions(filters)]
  const first = await batch(ctx, where, null)
  return csvChunks(ctx, where, first)
}

/**
 * A date column as YYYY-MM-DD whatever the server's, database's, role's or session's DateStyle
 * (`::text` gives 05/01/2027 under 'SQL, DMY'). Through `timestamp` (no zone), so the session's
 * TimeZone cannot move it either. The CSV holds calendar dates only, no timestamps: closing_date is
 * Zoho's Closing_Date as Zoho has it (never shifted, METRICS.md), fx_date the rate set's Monday.
 */
const isoDay = (column: SQL) => sql`to_char(${column}::timestamp, 'YYYY-MM-DD')`

function batch(
  ctx: AnalyticsContext,
  where: SQL[],
  after: string | null,
): Promise<Record<string, unknown>[]> {
  return query(
    ctx.db,
    sql`select d.id, d.name, d.stage, d.state, d.owner_id, coalesce(u.full_name, d.owner_name) as owner_name,
               d.pipeline, d.currency, d.amount::text as amount, d.amount_sgd::text as amount_sgd,
               d.effective_probability::int as probability, d.weighted_sgd::text as weighted_sgd,
               d.fx_rate::text as fx_rate, ${isoDay(sql`d.fx_date`)} as fx_date, d.fx_source,
               ${isoDay(sql`d.closing_date`)} as closing_date
        from deals d left join users u on u.org_id = d.org_id and u.id = d.owner_id
        where ${sql.join(where, sql` and `)} ${after === null ? sql`` : sql`and d.id > ${after}`}
        order by d.id limit ${BATCH}`,
  )
}

/** The column names, the base-currency ones named after the org's base currency (amount_usd). */
export function exportHeader(baseCurrency: string): string[] {
  const base = baseCurrency.toLowerCase()
  return EXPORT_COLUMNS.map((c) => c.replace(/_sgd$/, `_${base}`))
}

async function* csvChunks(
  ctx: AnalyticsContext,
  where: SQL[],
  first: Record<string, unknown>[],
): AsyncGenerator<string> {
  // The BOM makes Excel read the file as UTF-8 (without it, "Müller" opens as "MÃ¼ller"); UTF-8
  // decoders (fetch's text(), Sheets, LibreOffice, pandas) drop it.
  yield '\ufeff' + csvLine(exportHeader(ctx.org.baseCurrency))
  let rows = first
  for (;;) {
    if (!rows.length) return
    for (const r of rows) r.zoho_url = zohoDealUrl(ctx.org, String(r.id))
    yield rows.map((r) => csvLine(EXPORT_COLUMNS.map((c) => r[c]))).join('')
    if (rows.length < BATCH) return
    rows = await batch(ctx, where, String(rows[rows.length - 1]!.id))
  }
}
