CREATE TABLE "zoho_call_minutes" (
	"org_id" text NOT NULL,
	"minute" timestamp with time zone NOT NULL,
	"calls" integer NOT NULL,
	CONSTRAINT "zoho_call_minutes_org_id_minute_pk" PRIMARY KEY("org_id","minute")
);
--> statement-breakpoint
-- Every Zoho call a sync records (api_calls rises at each page commit and at a pause) counts in its
-- org's minute, in the same transaction; rows older than a day go as new ones come.
CREATE FUNCTION "record_zoho_calls"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO zoho_call_minutes (org_id, minute, calls)
  VALUES (NEW.org_id, date_trunc('minute', now()), NEW.api_calls - OLD.api_calls)
  ON CONFLICT (org_id, minute) DO UPDATE SET calls = zoho_call_minutes.calls + excluded.calls;
  DELETE FROM zoho_call_minutes WHERE org_id = NEW.org_id AND minute < now() - interval '1 day';
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "sync_runs_record_zoho_calls" AFTER UPDATE OF "api_calls" ON "sync_runs"
  FOR EACH ROW WHEN (NEW.api_calls > OLD.api_calls) EXECUTE FUNCTION "record_zoho_calls"();
