DROP INDEX "deals_org_created_idx";--> statement-breakpoint
ALTER TABLE "deals" ADD COLUMN "snapshot_push_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "sync_state" ADD COLUMN "full_sync_due_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "deals_quality_idx" ON "deals" USING btree ("org_id","id") WHERE "deals"."amount_sgd" is null or "deals"."amount" is null or "deals"."state" = 'unknown';--> statement-breakpoint
CREATE INDEX "deals_org_created_idx" ON "deals" USING btree ("org_id","created_time","owner_id","state","stage");--> statement-breakpoint
-- The moves later already in the snapshots (takeSnapshot keeps the count from here on).
UPDATE "deals" d SET "snapshot_push_count" = p.n
FROM (
  SELECT org_id, deal_id, count(*) FILTER (WHERE closing_date > prev)::int AS n
  FROM (
    SELECT org_id, deal_id, closing_date,
           lag(closing_date) OVER (PARTITION BY org_id, deal_id ORDER BY valid_from) AS prev
    FROM deal_snapshots
  ) x
  GROUP BY org_id, deal_id
) p
WHERE d.org_id = p.org_id AND d.id = p.deal_id AND p.n > 0;
