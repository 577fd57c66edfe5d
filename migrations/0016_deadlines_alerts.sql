-- Written by hand (issue 20): deadlines per schedule, how each occurrence stood against them, and
-- the alerts outbox. Expand-only: the previous release runs against it (it never reads the new
-- columns, and a schedule it writes has no deadlines).
ALTER TABLE "metronome"."schedules" ADD COLUMN "start_deadline_ms" bigint;--> statement-breakpoint
ALTER TABLE "metronome"."schedules" ADD COLUMN "finish_deadline_ms" bigint;--> statement-breakpoint
ALTER TABLE "metronome"."schedules" ADD CONSTRAINT "start_deadline_ms_at_least_1000" CHECK ("metronome"."schedules"."start_deadline_ms" is null or "metronome"."schedules"."start_deadline_ms" >= 1000);--> statement-breakpoint
ALTER TABLE "metronome"."schedules" ADD CONSTRAINT "finish_deadline_ms_at_least_1000" CHECK ("metronome"."schedules"."finish_deadline_ms" is null or "metronome"."schedules"."finish_deadline_ms" >= 1000);--> statement-breakpoint
ALTER TABLE "metronome"."schedules" ADD CONSTRAINT "finish_deadline_not_before_start_deadline" CHECK ("metronome"."schedules"."start_deadline_ms" is null or "metronome"."schedules"."finish_deadline_ms" is null or "metronome"."schedules"."finish_deadline_ms" >= "metronome"."schedules"."start_deadline_ms");--> statement-breakpoint
ALTER TABLE "metronome"."schedules" ADD CONSTRAINT "start_deadline_ms_at_most_100_years" CHECK ("metronome"."schedules"."start_deadline_ms" is null or "metronome"."schedules"."start_deadline_ms" <= 3162240000000);--> statement-breakpoint
ALTER TABLE "metronome"."schedules" ADD CONSTRAINT "finish_deadline_ms_at_most_100_years" CHECK ("metronome"."schedules"."finish_deadline_ms" is null or "metronome"."schedules"."finish_deadline_ms" <= 3162240000000);--> statement-breakpoint
-- The leader's deadline pass reads only the schedules that have deadlines.
CREATE INDEX "schedules_with_deadlines_idx" ON "metronome"."schedules" USING btree ("id") WHERE "metronome"."schedules"."start_deadline_ms" is not null or "metronome"."schedules"."finish_deadline_ms" is not null;--> statement-breakpoint
-- When a run was first seen started, and its outcome against its schedule's deadlines once decided.
ALTER TABLE "metronome"."occurrences" ADD COLUMN "started_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "metronome"."occurrences" ADD COLUMN "deadline_outcome" text;--> statement-breakpoint
ALTER TABLE "metronome"."occurrences" ADD COLUMN "deadline_reason" text;--> statement-breakpoint
ALTER TABLE "metronome"."occurrences" ADD CONSTRAINT "deadline_outcome_is_known" CHECK ("metronome"."occurrences"."deadline_outcome" is null or "metronome"."occurrences"."deadline_outcome" in ('on_time', 'started_late', 'not_finished', 'failed', 'missed', 'skipped'));--> statement-breakpoint
CREATE TABLE "metronome"."alerts" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "metronome"."alerts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"key" text NOT NULL,
	"schedule_id" bigint NOT NULL,
	"schedule_name" text NOT NULL,
	"scheduled_for" timestamp with time zone NOT NULL,
	"kind" text NOT NULL,
	"reason" text NOT NULL,
	"raised_at" timestamp with time zone DEFAULT now() NOT NULL,
	"raised_epoch" bigint,
	"delivery" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone,
	"last_error" text,
	CONSTRAINT "alerts_key_unique" UNIQUE("key"),
	CONSTRAINT "alert_kind_is_known" CHECK ("metronome"."alerts"."kind" in ('started_late', 'not_finished', 'failed', 'missed', 'skipped', 'recovered')),
	CONSTRAINT "delivery_is_known" CHECK ("metronome"."alerts"."delivery" in ('pending', 'delivered', 'none'))
);--> statement-breakpoint
CREATE INDEX "alerts_pending_idx" ON "metronome"."alerts" USING btree ("next_attempt_at") WHERE "metronome"."alerts"."delivery" = 'pending';--> statement-breakpoint
CREATE INDEX "alerts_schedule_idx" ON "metronome"."alerts" USING btree ("schedule_id","id" DESC NULLS LAST);
