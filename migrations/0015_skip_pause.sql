-- Hand-written (drizzle-kit generate --custom): skip the next N occurrences and pause until an
-- instant (issue 19; docs/schedules.md, "Skip and pause until"). Operator state, like paused_at:
-- `beat sync` never writes these columns.
-- skip_count: how many of the schedule's next occurrences are recorded `skipped` instead of sent;
-- the claim consumes them in its own transaction (a bookkeeping write: no version bump).
ALTER TABLE "metronome"."schedules" ADD COLUMN "skip_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "metronome"."schedules" ADD COLUMN "skip_reason" text;--> statement-breakpoint
-- paused_until: the leader resumes the schedule at this instant (null: paused until resumed by hand).
ALTER TABLE "metronome"."schedules" ADD COLUMN "paused_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "metronome"."schedules" ADD CONSTRAINT "skip_count_not_negative" CHECK ("metronome"."schedules"."skip_count" >= 0);--> statement-breakpoint
ALTER TABLE "metronome"."schedules" ADD CONSTRAINT "paused_until_only_when_paused" CHECK ("metronome"."schedules"."paused_until" is null or "metronome"."schedules"."paused_at" is not null);--> statement-breakpoint
ALTER TABLE "metronome"."schedules" ADD CONSTRAINT "paused_until_is_finite" CHECK ("metronome"."schedules"."paused_until" is null or isfinite("metronome"."schedules"."paused_until"));--> statement-breakpoint
-- The leader's look for pauses that end: a few rows, so a small partial index.
CREATE INDEX "schedules_paused_until_idx" ON "metronome"."schedules" USING btree ("paused_until") WHERE "metronome"."schedules"."paused_until" is not null;--> statement-breakpoint
-- An occurrence an operator skipped (`beat skip`): recorded, never sent.
ALTER TABLE "metronome"."occurrences" DROP CONSTRAINT "status_is_known";--> statement-breakpoint
ALTER TABLE "metronome"."occurrences" ADD CONSTRAINT "status_is_known" CHECK (status in ('claimed', 'enqueued', 'running', 'succeeded', 'failed', 'missed', 'skipped_overlap', 'buffered', 'expired', 'paused', 'revoked', 'lease_ended', 'skipped'));--> statement-breakpoint
-- The beat itself is an actor: it resumes a schedule whose pause has ended.
ALTER TABLE "metronome"."audit_log" DROP CONSTRAINT "via_is_known";--> statement-breakpoint
ALTER TABLE "metronome"."audit_log" ADD CONSTRAINT "via_is_known" CHECK ("metronome"."audit_log"."via" in ('cli', 'api', 'client', 'beat'));
