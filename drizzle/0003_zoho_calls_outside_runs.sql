-- Zoho calls made outside a sync run (sign-in, connecting the org, Watch renewals) count in the
-- org's minute too: one function adds calls to a minute, for the sync_runs trigger and for them.
CREATE FUNCTION "add_zoho_calls"(org text, n integer) RETURNS void LANGUAGE sql AS $$
  INSERT INTO zoho_call_minutes (org_id, minute, calls) VALUES (org, date_trunc('minute', now()), n)
  ON CONFLICT (org_id, minute) DO UPDATE SET calls = zoho_call_minutes.calls + excluded.calls;
  DELETE FROM zoho_call_minutes WHERE org_id = org AND minute < now() - interval '1 day';
$$;--> statement-breakpoint
CREATE OR REPLACE FUNCTION "record_zoho_calls"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM add_zoho_calls(NEW.org_id, NEW.api_calls - OLD.api_calls);
  RETURN NULL;
END $$;
