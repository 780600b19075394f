import { createHash } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { query, type Db } from '../../api/src/db/client'

/**
 * The database compared with the sandbox's truth: count and a checksum over id, stage (display
 * value), amount, currency, closing date and owner of every live deal. The truth's Stage may hold a
 * picklist actual value; it is mapped to the display value through the synced stages table.
 */

export interface DealsDigest {
  count: number
  checksum: string
  lines: Map<string, string>
}

/** 43027.480 → 43027.48, 12.0 → 12, null → '' */
export function normDecimal(v: unknown): string {
  if (v === null || v === undefined || v === '') return ''
  let s = String(v)
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '')
  return s === '-0' ? '0' : s
}

function digest(lines: Map<string, string>): DealsDigest {
  const h = createHash('sha256')
  for (const id of [...lines.keys()].sort()) h.update(lines.get(id)! + '\n')
  return { count: lines.size, checksum: h.digest('hex'), lines }
}

async function stageDisplay(db: Db, orgId: string): Promise<Map<string, string>> {
  const rows = await query<{ display_value: string; actual_value: string }>(
    db,
    sql`select display_value, actual_value from stages where org_id = ${orgId}`,
  )
  const m = new Map<string, string>()
  for (const r of rows) m.set(r.actual_value, r.display_value)
  for (const r of rows) m.set(r.display_value, r.display_value)
  return m
}

export async function truthDigest(
  deals: Iterable<Record<string, unknown>>,
  db: Db,
  orgId: string,
  homeCurrency: string,
): Promise<DealsDigest> {
  const display = await stageDisplay(db, orgId)
  const lines = new Map<string, string>()
  for (const d of deals) {
    const id = String(d.id)
    const stage = display.get(String(d.Stage)) ?? String(d.Stage)
    const owner = (d.Owner as { id?: string } | null)?.id ?? ''
    const currency = (d.Currency as string | undefined) ?? homeCurrency
    lines.set(id, [id, stage, normDecimal(d.Amount), currency, d.Closing_Date ?? '', owner].join('|'))
  }
  return digest(lines)
}

export async function dbDigest(db: Db, orgId: string): Promise<DealsDigest> {
  const rows = await query<{
    id: string
    stage: string
    amount: string | null
    currency: string
    closing_date: string | null
    owner_id: string | null
  }>(
    db,
    sql`select id, stage, amount::text, currency, closing_date::text, owner_id from deals where org_id = ${orgId}`,
  )
  const lines = new Map<string, string>()
  for (const r of rows)
    lines.set(
      r.id,
      [r.id, r.stage, normDecimal(r.amount), r.currency, r.closing_date ?? '', r.owner_id ?? ''].join('|'),
    )
  return digest(lines)
}

/** A short human diff for assertion messages. */
export function describeDiff(a: DealsDigest, b: DealsDigest): string {
  const out: string[] = []
  for (const [id, line] of a.lines)
    if (b.lines.get(id) !== line) out.push(`db: ${line} | truth: ${b.lines.get(id) ?? 'missing'}`)
  for (const [id, line] of b.lines) if (!a.lines.has(id)) out.push(`db: missing | truth: ${line}`)
  return out.slice(0, 5).join('\n')
}

/** Asserts-friendly comparison: equal counts and checksums, or a diff describing the first differences. */
export async function compareWithTruth(
  db: Db,
  orgId: string,
  deals: Iterable<Record<string, unknown>>,
  homeCurrency = 'USD',
): Promise<{
  equal: boolean
  db: { count: number; checksum: string }
  truth: { count: number; checksum: string }
  diff: string
}> {
  const [mine, truth] = [await dbDigest(db, orgId), await truthDigest(deals, db, orgId, homeCurrency)]
  return {
    equal: mine.count === truth.count && mine.checksum === truth.checksum,
    db: { count: mine.count, checksum: mine.checksum },
    truth: { count: truth.count, checksum: truth.checksum },
    diff: describeDiff(mine, truth),
  }
}
