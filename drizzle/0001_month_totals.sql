CREATE TABLE "deal_month_totals" (
	"org_id" text NOT NULL,
	"state" text NOT NULL,
	"close_month" date,
	"stage" text NOT NULL,
	"deal_count" integer NOT NULL,
	"unpriced_count" integer NOT NULL,
	"amount_sgd" numeric,
	"weighted100" numeric,
	"cycle_days" integer
);
--> statement-breakpoint
CREATE INDEX "deal_month_totals_org_idx" ON "deal_month_totals" USING btree ("org_id","state","close_month");--> statement-breakpoint
-- Orgs whose rollup is built already: their totals from it, so no summary reads an empty table.
INSERT INTO "deal_month_totals" ("org_id", "state", "close_month", "stage", "deal_count", "unpriced_count", "amount_sgd", "weighted100", "cycle_days")
SELECT "org_id", "state", "close_month", "stage", sum("deal_count")::int, sum("unpriced_count")::int, sum("amount_sgd"), sum("weighted100"), sum("cycle_days")::int
FROM "deal_month_rollup" GROUP BY "org_id", "state", "close_month", "stage";
