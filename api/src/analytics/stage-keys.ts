import { sql } from 'drizzle-orm'

/**
 * A lookup from any Stage value (display or actual) to its display value, one row per key: a
 * display-value match wins, then the latest in sequence (as the sync's StageMap). The SQL function
 * stage_keys (migration 0008) is the one definition; the stage_history trigger uses it too. Join
 * it (hash join) instead of a per-row subquery.
 */
export const stageKeys = (orgId: string) => sql`select key, display_value from stage_keys(${orgId})`
