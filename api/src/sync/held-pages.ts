import type { RateBook } from '../fx/pricing'
import { earliest, ms, type Checkpoint, type RunRow } from './checkpoint'
import { commitPage, pageWrite } from './commit'
import type { DealRow } from './map'
import { settlePending } from './pages'
import { latestById } from './records'
import type { SyncContext, SyncSession } from './session'

/*
 * Deals pages held back while the previous page's commit is still running (SyncSession.held): the
 * next commit writes them with its own page, so a database slower than Zoho gets fewer, bigger
 * statements. Bounded by MAX_HELD_ROWS; the stored checkpoint stays behind them.
 */

/** Deals pages held back from the database (SyncSession.held). */
export interface HeldPages {
  rows: DealRow[]
  pages: number
  /** The latest rate set the rows were priced with. */
  newest: RateBook['newest']
}

/** At most this many rows wait for one commit: about 1 MB, well inside the memory budget. */
export const MAX_HELD_ROWS = 1000

/**
 * Held pages plus one more; a deal on both keeps its newest copy. `shifted`: the earliest
 * Modified_Time a held deal had when the new page brought it again, edited (Checkpoint.rereadFrom).
 */
export function holdPage(
  held: HeldPages | undefined,
  rows: DealRow[],
  newest: RateBook['newest'],
): HeldPages & { shifted?: string } {
  if (!held) return { rows, pages: 1, newest }
  const before = new Map(held.rows.map((r) => [r.id, r.modified_time]))
  let shifted: string | undefined
  for (const r of rows) {
    const t = before.get(r.id)
    if (t !== undefined && ms(t) < ms(r.modified_time)) shifted = earliest(shifted, t)
  }
  return {
    rows: latestById([...held.rows, ...rows], (r) => r.modified_time),
    pages: held.pages + 1,
    newest,
    shifted,
  }
}

/** Writes the pages held back (if any) with this checkpoint, after the commit in flight. */
export async function flushHeld(
  ctx: SyncContext,
  s: SyncSession,
  run: RunRow,
  cp: Checkpoint,
  holder: string,
  leaseSeconds: number,
) {
  const held = s.held
  s.held = undefined
  if (!held) return
  await settlePending(s)
  await commitHeld(ctx, s, run, cp, holder, leaseSeconds, held)
}

/** Commits held pages (a page alone is one held page) with the checkpoint: one statement. */
export function commitHeld(
  ctx: SyncContext,
  s: SyncSession,
  run: RunRow,
  cp: Checkpoint,
  holder: string,
  leaseSeconds: number,
  held: HeldPages,
) {
  const progress = { pages: held.pages, read: held.rows.length }
  return commitPage(ctx, s, run, holder, cp, progress, leaseSeconds, pageWrite(s, run, cp, held.rows, 'sync'))
}
