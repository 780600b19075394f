ALTER TABLE "stage_stays" ADD COLUMN "owner_id" text;--> statement-breakpoint
-- Existing stays take their deal's owner (before the index: one write per stay).
UPDATE stage_stays s SET owner_id = d.owner_id FROM deals d
WHERE d.org_id = s.org_id AND d.id = s.deal_id AND d.owner_id IS NOT NULL;--> statement-breakpoint
CREATE INDEX "stage_stays_owner_left_on_idx" ON "stage_stays" USING btree ("org_id","owner_id","left_on","stage","days");--> statement-breakpoint
-- As in 0009, and each stay also gets its deal's owner now (the statement that wrote the history
-- has written the deal: the trigger runs after it).
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
    INSERT INTO stage_stays (org_id, deal_id, stage, entered_at, left_at, left_on, days, owner_id)
    SELECT p_org, s.deal_id, s.stage, s.entered_at, s.left_at, (s.left_at AT TIME ZONE z.tz)::date,
           (s.left_at AT TIME ZONE z.tz)::date - (s.entered_at AT TIME ZONE z.tz)::date,
           (SELECT d.owner_id FROM deals d WHERE d.org_id = p_org AND d.id = s.deal_id)
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
-- A deal that changes hands takes its stays along: a rep's time in stage counts the stays of the
-- deals they own now, as a join with the deals did.
CREATE FUNCTION deal_owner_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE stage_stays SET owner_id = NEW.owner_id WHERE org_id = NEW.org_id AND deal_id = NEW.id;
  RETURN NULL;
END
$$;
--> statement-breakpoint
-- Only rows whose owner did change: the sync's upserts set owner_id on every deal they update.
CREATE TRIGGER deals_owner_changed AFTER UPDATE OF owner_id ON deals
FOR EACH ROW WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id) EXECUTE FUNCTION deal_owner_changed();
