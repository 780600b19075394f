CREATE TABLE "stay_day_totals" (
	"org_id" text NOT NULL,
	"left_on" date NOT NULL,
	"stage" text NOT NULL,
	"stays" integer NOT NULL,
	"days" bigint NOT NULL,
	CONSTRAINT "stay_day_totals_org_id_left_on_stage_pk" PRIMARY KEY("org_id","left_on","stage")
);
--> statement-breakpoint
DROP INDEX "stage_stays_left_idx";--> statement-breakpoint
ALTER TABLE "stage_stays" ADD COLUMN "left_on" date;--> statement-breakpoint
ALTER TABLE "stage_stays" ADD COLUMN "days" integer;--> statement-breakpoint
CREATE INDEX "stage_stays_left_on_idx" ON "stage_stays" USING btree ("org_id","left_on","stage","days","deal_id");--> statement-breakpoint
-- The org's time zone as PostgreSQL can use it: a zone name it does not know (Zoho sends IANA
-- names; a newer tz database could have one PostgreSQL's lacks) counts as UTC here instead of
-- failing every write of the history.
CREATE FUNCTION org_time_zone(p_org text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
  tz text := coalesce((SELECT time_zone FROM orgs WHERE id = p_org), 'UTC');
BEGIN
  PERFORM now() AT TIME ZONE tz;
  RETURN tz;
EXCEPTION WHEN invalid_parameter_value THEN
  RETURN 'UTC';
END
$$;
--> statement-breakpoint
-- As in 0008, and each stay also gets the date it ended on and its calendar days (both in the org's
-- time zone, analytics/days.ts), so time in stage and the stuck thresholds sum and rank plain
-- integers instead of converting two instants per stay per request; stay_day_totals takes the
-- removed stays out and the new ones in.
CREATE OR REPLACE FUNCTION refresh_stage_derived(p_org text, p_ids text[]) RETURNS void
LANGUAGE sql AS $$
  WITH gone AS (
    DELETE FROM stage_stays WHERE org_id = p_org AND deal_id = ANY (p_ids) RETURNING left_on, stage, days
  ), out AS (
    SELECT left_on, stage, count(*)::int AS stays, sum(days) AS days FROM gone
    WHERE left_on IS NOT NULL GROUP BY left_on, stage
  )
  UPDATE stay_day_totals t SET stays = t.stays - o.stays, days = t.days - o.days FROM out o
  WHERE t.org_id = p_org AND t.left_on = o.left_on AND t.stage = o.stage;
  WITH added AS (
    INSERT INTO stage_stays (org_id, deal_id, stage, entered_at, left_at, left_on, days)
    SELECT p_org, s.deal_id, s.stage, s.entered_at, s.left_at, (s.left_at AT TIME ZONE z.tz)::date,
           (s.left_at AT TIME ZONE z.tz)::date - (s.entered_at AT TIME ZONE z.tz)::date
    FROM (
      SELECT r.deal_id, r.stage, r.entered_at,
             lead(r.entered_at) OVER (PARTITION BY r.deal_id ORDER BY r.entered_at, r.stage) AS left_at
      FROM (
        SELECT h.deal_id, coalesce(k.display_value, h.stage) AS stage, h.entered_at,
               lag(coalesce(k.display_value, h.stage))
                 OVER (PARTITION BY h.deal_id ORDER BY h.entered_at, coalesce(k.display_value, h.stage)) AS prev
        FROM stage_history h LEFT JOIN stage_keys(p_org) k ON k.key = h.stage
        WHERE h.org_id = p_org AND h.deal_id = ANY (p_ids)
      ) r
      -- A row repeating the stage before it (an Amount or Closing_Date edit, or display then actual
      -- value) does not leave the stage.
      WHERE r.prev IS DISTINCT FROM r.stage
    ) s CROSS JOIN (SELECT org_time_zone(p_org) AS tz) z
    RETURNING left_on, stage, days
  )
  INSERT INTO stay_day_totals (org_id, left_on, stage, stays, days)
  SELECT p_org, left_on, stage, count(*)::int, sum(days) FROM added
  WHERE left_on IS NOT NULL GROUP BY left_on, stage
  ON CONFLICT (org_id, left_on, stage) DO UPDATE
  SET stays = stay_day_totals.stays + excluded.stays, days = stay_day_totals.days + excluded.days;
  DELETE FROM stay_day_totals WHERE org_id = p_org AND stays = 0;
  -- The funnel's rank: open stages in use by sequence; a history row matches on display or actual
  -- value, the later rank winning.
  WITH open_rank AS (
    SELECT display_value, actual_value, row_number() OVER (ORDER BY sequence) AS rk
    FROM stages WHERE org_id = p_org AND used AND state = 'open'
  ), keys AS (
    SELECT display_value AS key, display_value, rk FROM open_rank
    UNION ALL
    SELECT actual_value, display_value, rk FROM open_rank
  ), furthest AS (
    SELECT i.id, (SELECT k.display_value FROM stage_history h JOIN keys k ON k.key = h.stage
                  WHERE h.org_id = p_org AND h.deal_id = i.id ORDER BY k.rk DESC LIMIT 1) AS stage
    FROM unnest(p_ids) AS i(id)
  )
  UPDATE deals d SET furthest_stage = f.stage FROM furthest f
  WHERE d.org_id = p_org AND d.id = f.id AND d.furthest_stage IS DISTINCT FROM f.stage;
  -- The stuck thresholds' medians are filled again by the next risk request (staleThresholds). The
  -- lock orders this against a fill: one computed before this commit is not kept after it.
  SELECT pg_advisory_xact_lock(hashtext('stage_medians'), hashtext(p_org));
  DELETE FROM stage_medians WHERE org_id = p_org;
$$;
--> statement-breakpoint
-- An org's stays' dates and days in its time zone, all of them, and their daily totals: on a change
-- of zone, and to fill the new columns below.
CREATE FUNCTION refresh_stay_days(p_org text) RETURNS void
LANGUAGE sql AS $$
  UPDATE stage_stays s SET left_on = (s.left_at AT TIME ZONE z.tz)::date,
         days = (s.left_at AT TIME ZONE z.tz)::date - (s.entered_at AT TIME ZONE z.tz)::date
  FROM (SELECT org_time_zone(p_org) AS tz) z
  WHERE s.org_id = p_org AND s.left_at IS NOT NULL;
  DELETE FROM stay_day_totals WHERE org_id = p_org;
  INSERT INTO stay_day_totals (org_id, left_on, stage, stays, days)
  SELECT p_org, left_on, stage, count(*)::int, sum(days) FROM stage_stays
  WHERE org_id = p_org AND left_on IS NOT NULL GROUP BY left_on, stage;
$$;
--> statement-breakpoint
CREATE FUNCTION org_time_zone_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM refresh_stay_days(NEW.id);
  RETURN NULL;
END
$$;
--> statement-breakpoint
-- However the zone changes (the metadata refresh's upsert from Zoho's org, a hand fix).
CREATE TRIGGER orgs_time_zone_changed AFTER UPDATE OF time_zone ON orgs
FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone) EXECUTE FUNCTION org_time_zone_changed();
--> statement-breakpoint
SELECT refresh_stay_days(o.id) FROM orgs o WHERE EXISTS (SELECT 1 FROM stage_stays s WHERE s.org_id = o.id);
