CREATE TABLE "analytics_rollup_state" (
	"org_id" text PRIMARY KEY NOT NULL,
	"refreshed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor_user_id" text,
	"action" text NOT NULL,
	"target" text,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"ip" text
);
--> statement-breakpoint
CREATE TABLE "auth_nonces" (
	"org_id" text NOT NULL,
	"nonce" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "auth_nonces_org_id_nonce_pk" PRIMARY KEY("org_id","nonce")
);
--> statement-breakpoint
CREATE TABLE "deal_month_rollup" (
	"org_id" text NOT NULL,
	"state" text NOT NULL,
	"close_month" date,
	"owner_id" text,
	"owner_name" text,
	"stage" text NOT NULL,
	"pipeline" text,
	"currency" text NOT NULL,
	"territory" text,
	"forecast_category" text,
	"deal_count" integer NOT NULL,
	"unpriced_count" integer NOT NULL,
	"amount_sgd" numeric,
	"weighted100" numeric,
	"cycle_days" integer
);
--> statement-breakpoint
CREATE TABLE "deal_snapshots" (
	"org_id" text NOT NULL,
	"deal_id" text NOT NULL,
	"valid_from" date NOT NULL,
	"valid_to" date,
	"stage" text NOT NULL,
	"state" text NOT NULL,
	"amount_sgd" numeric,
	"weighted_sgd" numeric,
	"probability" smallint,
	"closing_date" date,
	"owner_id" text,
	"forecast_category" text,
	"pipeline" text,
	"created_date" date,
	"currency" text,
	"territory" text,
	CONSTRAINT "deal_snapshots_org_id_deal_id_valid_from_pk" PRIMARY KEY("org_id","deal_id","valid_from")
);
--> statement-breakpoint
CREATE TABLE "deals" (
	"org_id" text NOT NULL,
	"id" text NOT NULL,
	"name" text NOT NULL,
	"stage" text NOT NULL,
	"state" text NOT NULL,
	"forecast_category" text,
	"pipeline" text,
	"owner_id" text,
	"owner_name" text,
	"account_name" text,
	"territory" text,
	"amount" numeric,
	"currency" text NOT NULL,
	"zoho_exchange_rate" numeric,
	"probability" smallint,
	"effective_probability" smallint,
	"amount_sgd" numeric,
	"weighted_sgd" numeric,
	"fx_rate" numeric,
	"fx_date" date,
	"fx_source" text,
	"fx_estimated" boolean DEFAULT false NOT NULL,
	"closing_date" date,
	"created_time" timestamp with time zone NOT NULL,
	"modified_time" timestamp with time zone NOT NULL,
	"last_activity_time" timestamp with time zone,
	"stage_entered_at" timestamp with time zone,
	"closing_push_count" integer DEFAULT 0 NOT NULL,
	"history_backfilled_at" timestamp with time zone,
	"synced_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "deals_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "fx_provider_status" (
	"provider" text PRIMARY KEY NOT NULL,
	"last_attempt_at" timestamp with time zone,
	"last_success_at" timestamp with time zone,
	"reachable" boolean,
	"last_error" text,
	"historical_refused_at" timestamp with time zone,
	"calls" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fx_rate_sets" (
	"id" serial PRIMARY KEY NOT NULL,
	"week_date" date NOT NULL,
	"base" text DEFAULT 'USD' NOT NULL,
	"source" text NOT NULL,
	"provider_date" timestamp with time zone,
	"fetched_at" timestamp with time zone DEFAULT now() NOT NULL,
	"kind" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fx_rates" (
	"set_id" integer NOT NULL,
	"currency" text NOT NULL,
	"rate" numeric NOT NULL,
	CONSTRAINT "fx_rates_set_id_currency_pk" PRIMARY KEY("set_id","currency")
);
--> statement-breakpoint
CREATE TABLE "orgs" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"time_zone" text DEFAULT 'UTC' NOT NULL,
	"home_currency" text NOT NULL,
	"multi_currency" boolean DEFAULT false NOT NULL,
	"base_currency" text DEFAULT 'SGD' NOT NULL,
	"crm_host" text DEFAULT 'https://crm.zoho.com' NOT NULL,
	"domain_name" text,
	"fiscal_year_start_month" smallint DEFAULT 1 NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"widget_secret_enc" text,
	"widget_secret_rotated_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pipeline_daily" (
	"org_id" text NOT NULL,
	"day" date NOT NULL,
	"owner_id" text NOT NULL,
	"pipeline" text DEFAULT '' NOT NULL,
	"open_count" integer NOT NULL,
	"open_amount" numeric NOT NULL,
	"open_weighted" numeric NOT NULL,
	"unpriced_count" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "pipeline_daily_org_id_day_owner_id_pipeline_pk" PRIMARY KEY("org_id","day","owner_id","pipeline")
);
--> statement-breakpoint
CREATE TABLE "pipelines" (
	"org_id" text NOT NULL,
	"id" text NOT NULL,
	"layout_id" text,
	"display_value" text NOT NULL,
	"actual_value" text NOT NULL,
	"is_default" boolean DEFAULT false NOT NULL,
	"stages" jsonb DEFAULT '[]'::jsonb NOT NULL,
	CONSTRAINT "pipelines_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "roles" (
	"org_id" text NOT NULL,
	"id" text NOT NULL,
	"name" text NOT NULL,
	"reports_to_id" text,
	CONSTRAINT "roles_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "sales_targets" (
	"org_id" text NOT NULL,
	"owner_id" text NOT NULL,
	"period_start" date NOT NULL,
	"period_end" date NOT NULL,
	"amount" numeric NOT NULL,
	CONSTRAINT "sales_targets_org_id_owner_id_period_start_pk" PRIMARY KEY("org_id","owner_id","period_start")
);
--> statement-breakpoint
CREATE TABLE "stage_history" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"deal_id" text NOT NULL,
	"stage" text NOT NULL,
	"entered_at" timestamp with time zone NOT NULL,
	"amount" numeric,
	"probability" smallint,
	"closing_date" date,
	"source" text NOT NULL,
	"zoho_id" text
);
--> statement-breakpoint
CREATE TABLE "stages" (
	"org_id" text NOT NULL,
	"display_value" text NOT NULL,
	"actual_value" text NOT NULL,
	"zoho_id" text,
	"sequence" integer NOT NULL,
	"probability" smallint,
	"state" text NOT NULL,
	"forecast_type" text,
	"forecast_category" text,
	"used" boolean DEFAULT true NOT NULL,
	CONSTRAINT "stages_org_id_display_value_pk" PRIMARY KEY("org_id","display_value")
);
--> statement-breakpoint
CREATE TABLE "sync_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"kind" text NOT NULL,
	"trigger" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"phase" text DEFAULT 'queued' NOT NULL,
	"started_by" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL,
	"pages" integer DEFAULT 0 NOT NULL,
	"records" integer DEFAULT 0 NOT NULL,
	"deletions" integer DEFAULT 0 NOT NULL,
	"api_calls" integer DEFAULT 0 NOT NULL,
	"history_calls" integer DEFAULT 0 NOT NULL,
	"credits_remaining" integer,
	"estimated_total" integer,
	"error" text,
	"checkpoint" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sync_state" (
	"org_id" text PRIMARY KEY NOT NULL,
	"lease_owner" text,
	"lease_expires_at" timestamp with time zone,
	"modified_cursor" timestamp with time zone,
	"deleted_cursor" timestamp with time zone,
	"last_full_sync_at" timestamp with time zone,
	"last_success_at" timestamp with time zone,
	"metadata_refreshed_at" timestamp with time zone,
	"last_snapshot_day" date
);
--> statement-breakpoint
CREATE TABLE "users" (
	"org_id" text NOT NULL,
	"id" text NOT NULL,
	"zuid" text,
	"full_name" text NOT NULL,
	"email" text,
	"status" text NOT NULL,
	"role_id" text,
	"profile_id" text,
	"profile_name" text,
	"reporting_to_id" text,
	"time_zone" text,
	"app_role_override" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "users_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "watch_channels" (
	"channel_id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"token" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "zoho_connections" (
	"org_id" text PRIMARY KEY NOT NULL,
	"accounts_server" text NOT NULL,
	"api_domain" text NOT NULL,
	"refresh_token_enc" text NOT NULL,
	"access_token_enc" text,
	"access_token_expires_at" timestamp with time zone,
	"refresh_log" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"refresh_lease_until" timestamp with time zone,
	"scopes" text,
	"status" text DEFAULT 'active' NOT NULL,
	"last_error" text,
	"connected_by_user_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "fx_rates" ADD CONSTRAINT "fx_rates_set_id_fx_rate_sets_id_fk" FOREIGN KEY ("set_id") REFERENCES "public"."fx_rate_sets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "zoho_connections" ADD CONSTRAINT "zoho_connections_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_log_org_at_idx" ON "audit_log" USING btree ("org_id","at");--> statement-breakpoint
CREATE INDEX "deal_month_rollup_org_idx" ON "deal_month_rollup" USING btree ("org_id","state","close_month");--> statement-breakpoint
CREATE INDEX "deal_snapshots_range_idx" ON "deal_snapshots" USING btree ("org_id","valid_from","valid_to");--> statement-breakpoint
CREATE INDEX "deal_snapshots_to_idx" ON "deal_snapshots" USING btree ("org_id","valid_to","deal_id");--> statement-breakpoint
CREATE INDEX "deal_snapshots_from_idx" ON "deal_snapshots" USING btree ("org_id","valid_from","deal_id");--> statement-breakpoint
CREATE INDEX "deal_snapshots_state_close_idx" ON "deal_snapshots" USING btree ("org_id","state","closing_date","valid_from","valid_to","owner_id","amount_sgd");--> statement-breakpoint
CREATE UNIQUE INDEX "deal_snapshots_open_idx" ON "deal_snapshots" USING btree ("org_id","deal_id") WHERE valid_to is null;--> statement-breakpoint
CREATE INDEX "deals_org_state_close_idx" ON "deals" USING btree ("org_id","state","closing_date");--> statement-breakpoint
CREATE INDEX "deals_org_owner_idx" ON "deals" USING btree ("org_id","owner_id","state","closing_date");--> statement-breakpoint
CREATE INDEX "deals_org_stage_idx" ON "deals" USING btree ("org_id","stage");--> statement-breakpoint
CREATE INDEX "deals_org_close_sort_idx" ON "deals" USING btree ("org_id",coalesce("closing_date", '9999-12-31'::date),"id");--> statement-breakpoint
CREATE INDEX "deals_org_owner_close_sort_idx" ON "deals" USING btree ("org_id","owner_id",coalesce("closing_date", '9999-12-31'::date),"id");--> statement-breakpoint
CREATE INDEX "deals_org_modified_idx" ON "deals" USING btree ("org_id","modified_time");--> statement-breakpoint
CREATE INDEX "deals_org_created_idx" ON "deals" USING btree ("org_id","created_time");--> statement-breakpoint
CREATE UNIQUE INDEX "fx_rate_sets_week_uniq" ON "fx_rate_sets" USING btree ("week_date","base");--> statement-breakpoint
CREATE UNIQUE INDEX "stage_history_uniq" ON "stage_history" USING btree ("org_id","deal_id","entered_at","stage");--> statement-breakpoint
CREATE INDEX "stage_history_deal_idx" ON "stage_history" USING btree ("org_id","deal_id","entered_at");--> statement-breakpoint
CREATE INDEX "stages_actual_idx" ON "stages" USING btree ("org_id","actual_value");--> statement-breakpoint
CREATE INDEX "sync_runs_org_started_idx" ON "sync_runs" USING btree ("org_id","started_at");--> statement-breakpoint
CREATE INDEX "users_org_role_idx" ON "users" USING btree ("org_id","role_id");--> statement-breakpoint
CREATE INDEX "users_zuid_idx" ON "users" USING btree ("zuid");