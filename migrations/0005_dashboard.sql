CREATE TABLE "metronome"."audit_log" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "metronome"."audit_log_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL,
	"via" text NOT NULL,
	"address" text,
	"action" text NOT NULL,
	"schedule_name" text NOT NULL,
	"detail" jsonb DEFAULT '{}'::jsonb NOT NULL,
	CONSTRAINT "via_is_known" CHECK ("metronome"."audit_log"."via" in ('cli', 'api'))
);
--> statement-breakpoint
CREATE TABLE "metronome"."leader_history" (
	"grp" text NOT NULL,
	"epoch" bigint NOT NULL,
	"holder" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"end_reason" text,
	CONSTRAINT "leader_history_grp_epoch_pk" PRIMARY KEY("grp","epoch"),
	CONSTRAINT "end_reason_is_known" CHECK ("metronome"."leader_history"."end_reason" is null or "metronome"."leader_history"."end_reason" in ('released', 'expired', 'taken_over'))
);
--> statement-breakpoint
CREATE TABLE "metronome"."replicas" (
	"id" text PRIMARY KEY NOT NULL,
	"grp" text NOT NULL,
	"host" text NOT NULL,
	"pid" integer NOT NULL,
	"role" text NOT NULL,
	"http" text,
	"version" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"seen_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "audit_log_schedule_idx" ON "metronome"."audit_log" USING btree ("schedule_name","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "occurrences_scheduled_for_brin" ON "metronome"."occurrences" USING brin ("scheduled_for");--> statement-breakpoint
CREATE INDEX "occurrences_problems_idx" ON "metronome"."occurrences" USING btree ("scheduled_for","status") WHERE status in ('missed', 'skipped_overlap', 'failed', 'expired');