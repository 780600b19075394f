CREATE TABLE "stage_medians" (
	"org_id" text NOT NULL,
	"stage" text NOT NULL,
	"median" numeric,
	"time_zone" text NOT NULL,
	CONSTRAINT "stage_medians_org_id_stage_pk" PRIMARY KEY("org_id","stage")
);
--> statement-breakpoint
CREATE TABLE "stage_stays" (
	"org_id" text NOT NULL,
	"deal_id" text NOT NULL,
	"stage" text NOT NULL,
	"entered_at" timestamp with time zone NOT NULL,
	"left_at" timestamp with time zone,
	CONSTRAINT "stage_stays_org_id_deal_id_entered_at_stage_pk" PRIMARY KEY("org_id","deal_id","entered_at","stage")
);
--> statement-breakpoint
DROP INDEX "deals_org_created_idx";--> statement-breakpoint
ALTER TABLE "deals" ADD COLUMN "furthest_stage" text;--> statement-breakpoint
CREATE INDEX "stage_stays_left_idx" ON "stage_stays" USING btree ("org_id","left_at");--> statement-breakpoint
CREATE INDEX "deals_org_created_idx" ON "deals" USING btree ("org_id","created_time","owner_id","state","stage","furthest_stage");
--> statement-breakpoint
-- A lookup from any Stage value (display or actual) to its display value, one row per key: a
-- display-value match wins, then the latest in sequence (as the sync's StageMap). Inlined by the
-- planner where it is joined.
CREATE FUNCTION stage_keys(p_org text) RETURNS TABLE (key text, display_value text)
LANGUAGE sql STABLE AS $$
  SELECT DISTINCT ON (k.key) k.key, k.display_value FROM (
    SELECT s.display_value AS key, s.display_value, 0 AS prio, s.sequence FROM stages s WHERE s.org_id = p_org
    UNION ALL
    SELECT s.actual_value, s.display_value, 1, s.sequence FROM stages s WHERE s.org_id = p_org
  ) k ORDER BY k.key, k.prio, k.sequence DESC
$$;
--> statement-breakpoint
-- Re-derives, from their stage_history, the given deals' stays (stage_stays) and furthest open
-- stage (deals.furthest_stage). Called by the triggers below for the deals a statement touched,
-- and for a whole org when its Stage picklist changes (ranks and display values move).
CREATE FUNCTION refresh_stage_derived(p_org text, p_ids text[]) RETURNS void
LANGUAGE sql AS $$
  DELETE FROM stage_stays WHERE org_id = p_org AND deal_id = ANY (p_ids);
  INSERT INTO stage_stays (org_id, deal_id, stage, entered_at, left_at)
  SELECT p_org, r.deal_id, r.stage, r.entered_at,
         lead(r.entered_at) OVER (PARTITION BY r.deal_id ORDER BY r.entered_at, r.stage)
  FROM (
    SELECT h.deal_id, coalesce(k.display_value, h.stage) AS stage, h.entered_at,
           lag(coalesce(k.display_value, h.stage))
             OVER (PARTITION BY h.deal_id ORDER BY h.entered_at, coalesce(k.display_value, h.stage)) AS prev
    FROM stage_history h LEFT JOIN stage_keys(p_org) k ON k.key = h.stage
    WHERE h.org_id = p_org AND h.deal_id = ANY (p_ids)
  ) r
  -- A row repeating the stage before it (an Amount or Closing_Date edit, or display then actual
  -- value) does not leave the stage.
  WHERE r.prev IS DISTINCT FROM r.stage;
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
-- Every writer of stage_history (the sync's observed changes, the Stage_History backfill and its
-- superseding deletes, deleted deals, Watch callbacks, a hand fix) keeps the derived data exact,
-- once per statement. (Updates of a row touch only its amount, probability, closing date and
-- source, none of which the derived data holds.)
CREATE FUNCTION stage_history_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM refresh_stage_derived(c.org_id, array_agg(DISTINCT c.deal_id)) FROM changed c GROUP BY c.org_id;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER stage_history_inserted AFTER INSERT ON stage_history
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION stage_history_changed();
--> statement-breakpoint
CREATE TRIGGER stage_history_deleted AFTER DELETE ON stage_history
REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION stage_history_changed();
--> statement-breakpoint
-- The history already stored.
SELECT refresh_stage_derived(o.org_id, array_agg(DISTINCT o.deal_id)) FROM stage_history o GROUP BY o.org_id;
