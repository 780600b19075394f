CREATE TABLE "fx_refresh_claims" (
	"name" text PRIMARY KEY NOT NULL,
	"holder" text NOT NULL,
	"claimed_at" timestamp with time zone NOT NULL
);
