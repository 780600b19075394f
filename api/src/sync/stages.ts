import { sql } from 'drizzle-orm'
import { query, type Db } from '../db/client'

/** A Stage picklist entry as the sync needs it (from the stages table). */
export interface StageInfo {
  display: string
  actual: string
  state: 'open' | 'won' | 'lost'
  probability: number | null
  forecastCategory: string | null
}

/**
 * Stage lookup by display OR actual value: a deal's Stage may hold either (reference §2.5), and
 * stages are reported by display value.
 */
export class StageMap {
  private byValue = new Map<string, StageInfo>()
  constructor(readonly stages: StageInfo[]) {
    // Display values win over an actual value that happens to equal another stage's display value.
    for (const s of stages) this.byValue.set(s.actual, s)
    for (const s of stages) this.byValue.set(s.display, s)
  }
  get(value: string | null | undefined): StageInfo | undefined {
    return value == null ? undefined : this.byValue.get(value)
  }
  get size() {
    return this.stages.length
  }
}

export async function loadStageMap(db: Db, orgId: string): Promise<StageMap> {
  const rows = await query<{
    display_value: string
    actual_value: string
    state: StageInfo['state']
    probability: number | null
    forecast_category: string | null
  }>(
    db,
    sql`select display_value, actual_value, state, probability, forecast_category
        from stages where org_id = ${orgId} order by sequence`,
  )
  return new StageMap(
    rows.map((r) => ({
      display: r.display_value,
      actual: r.actual_value,
      state: r.state,
      probability: r.probability,
      forecastCategory: r.forecast_category,
    })),
  )
}

/** Open/won/lost from Zoho's deal_category / forecast_type, never from the stage name. */
export function stateFromCategory(
  dealCategory: string | null | undefined,
  forecastType: string | null | undefined,
): StageInfo['state'] | null {
  for (const v of [dealCategory, forecastType]) {
    const k = v?.trim().toLowerCase()
    if (k === 'open') return 'open'
    if (k === 'closed won') return 'won'
    if (k === 'closed lost') return 'lost'
  }
  return null
}
