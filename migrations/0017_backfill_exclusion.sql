-- Hand-written (issue 20): backfills and exclusion groups. Expand-only: the previous release runs
-- against it (it reads none of the new columns and writes none of them).
--
-- Exclusion groups: schedules naming the same group share one run lock, so no two runs of the group
-- overlap (docs/schedules.md, "Exclusion groups"). NULL: the schedule's own lock, as before.
ALTER TABLE "metronome"."schedules" ADD COLUMN "exclusion_group" text;--> statement-breakpoint
ALTER TABLE "metronome"."schedules" ADD CONSTRAINT "exclusion_group_is_a_name" CHECK ("exclusion_group" is null or "exclusion_group" ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$');--> statement-breakpoint
-- Backfills: a request to fire the slots of a past range, recorded by `beat backfill` / the API and
-- executed by the leader at its rate, fenced by its term. `next_slot` is the cursor: the first slot
-- not yet claimed (NULL once every slot was claimed). It moves in the same transaction as the claim,
-- so a leader killed mid-backfill leaves it where the next leader resumes, each slot claimed once
-- through the occurrences' unique slot index.
CREATE TABLE "metronome"."backfills" (
  "id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
  "schedule_id" bigint NOT NULL,
  "schedule_name" text NOT NULL,
  "range_from" timestamp with time zone NOT NULL,
  "range_to" timestamp with time zone NOT NULL,
  "rate_per_second" double precision NOT NULL,
  "slots" integer NOT NULL,
  "next_slot" timestamp with time zone,
  "claimed" integer DEFAULT 0 NOT NULL,
  "already" integer DEFAULT 0 NOT NULL,
  "status" text DEFAULT 'pending' NOT NULL,
  "error" text,
  "requested_by" text NOT NULL,
  "requested_at" timestamp with time zone DEFAULT now() NOT NULL,
  "finished_at" timestamp with time zone,
  CONSTRAINT "backfill_status_is_known" CHECK ("status" in ('pending', 'running', 'done', 'failed', 'cancelled')),
  CONSTRAINT "backfill_range_is_ordered" CHECK ("range_from" <= "range_to"),
  CONSTRAINT "backfill_rate_positive" CHECK ("rate_per_second" > 0),
  CONSTRAINT "backfill_counts_not_negative" CHECK ("slots" >= 0 and "claimed" >= 0 and "already" >= 0)
);--> statement-breakpoint
CREATE INDEX "backfills_open_idx" ON "metronome"."backfills" ("id") WHERE "status" in ('pending', 'running');--> statement-breakpoint
-- The ledger marks a backfilled run with the backfill that sent it (`beat history`, the dashboard).
ALTER TABLE "metronome"."occurrences" ADD COLUMN "backfill_id" bigint;
