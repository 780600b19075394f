import { sql, type SQL } from 'drizzle-orm'
import { query, type Db } from '../db/client'

/*
 * Days in a stage, a stay, a cycle or since an activity are CALENDAR days in the org's time zone:
 * the date it ended (or today) minus the date it began, both as the org's calendar reads them
 * (METRICS: "Dates are calendar dates in the org's time zone"; the sales cycle counts from
 * Created_Time as a date). Not elapsed seconds ÷ 86,400: across a DST change a local day is 23 or 25
 * hours, and a stay from 23:30 to 00:30 would count as 0.04 days though it spans two dates. So the
 * time-in-stage report, the deal view, the risk list and the stuck thresholds all give one count.
 * Finished stays carry theirs, counted by this rule in SQL (stage_stays.days, migration 0009).
 */

/** The org-local calendar date of a timestamptz expression. */
const localDate = (instant: SQL, timeZone: string): SQL => sql`(${instant} at time zone ${timeZone})::date`

/** Whole calendar days (an integer) from one instant to another, in the org's time zone. */
export const calendarDays = (from: SQL, to: SQL, timeZone: string): SQL =>
  sql`(${localDate(to, timeZone)} - ${localDate(from, timeZone)})`

/** Whole calendar days from an instant to `today` (the org's date, YYYY-MM-DD). */
export const calendarDaysTo = (from: SQL, today: string, timeZone: string): SQL =>
  sql`(${today}::date - ${localDate(from, timeZone)})`

/**
 * The instant each of the org's days `today` minus n began (n → timestamptz text), for comparisons
 * that must not convert every row to the org's calendar: "at least k calendar days since t" is
 * "t before the start of day today − (k − 1)". From PostgreSQL, whose zone data the counts above use.
 */
export async function startsOfDaysBack(
  db: Db,
  today: string,
  timeZone: string,
  daysBack: number[],
): Promise<Map<number, string>> {
  const ns = [...new Set(daysBack)]
  const rows = await query<{ n: number; at: string }>(
    db,
    sql`select t.n, ((${today}::date - t.n)::timestamp at time zone ${timeZone})::text as at
        from (values ${sql.join(
          ns.map((n) => sql`(${n}::int)`),
          sql`, `,
        )}) as t(n)`,
  )
  return new Map(rows.map((r) => [r.n, r.at]))
}
