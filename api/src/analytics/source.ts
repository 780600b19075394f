import { sql, type SQL } from 'drizzle-orm'
import type { AnalyticsContext } from './context'

/**
 * Where the deal rows come from: the live deals table, or the snapshot of a day ("as of D").
 * Both are aliased `d` and expose the same columns, so one filter builder and one query serve both.
 */
export interface DealSource {
  from: SQL
  /** Effective probability (the deal's own, else its stage's default). */
  probability: SQL
  /** Created_Time as a date in the org's time zone. */
  createdDate: SQL
  snapshotDay: string | null
}

export function dealSource(ctx: AnalyticsContext, asOf?: string): DealSource {
  if (!asOf)
    return {
      from: sql`deals d`,
      probability: sql`coalesce(d.effective_probability, 0)`,
      createdDate: sql`(d.created_time at time zone ${ctx.org.timeZone})::date`,
      snapshotDay: null,
    }
  return {
    from: sql`(select * from deal_snapshots where org_id = ${ctx.org.id} and valid_from <= ${asOf}
                 and (valid_to is null or valid_to > ${asOf})) d`,
    probability: sql`coalesce(d.probability, 0)`,
    createdDate: sql`d.created_date`,
    snapshotDay: asOf,
  }
}
