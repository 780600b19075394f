import { sql } from 'drizzle-orm'

/**
 * A lookup from any Stage value (display or actual) to its display value, one row per key; a
 * display-value match wins, then the latest in sequence (as the sync's StageMap). Join it (hash
 * join) instead of a per-row subquery.
 */
export const stageKeys = (orgId: string) =>
  sql`select distinct on (key) key, display_value from (
        select display_value as key, display_value, 0 as prio, sequence from stages where org_id = ${orgId}
        union all
        select actual_value, display_value, 1, sequence from stages where org_id = ${orgId}
      ) k order by key, prio, sequence desc`
