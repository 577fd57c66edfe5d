-- The ledger's keys and statuses for the guarantees (docs/guarantees.md):
-- - task_id is the primary key; one scheduled occurrence per (schedule, slot) is a partial unique
--   index that leaves manual runs (`beat trigger`) out, so a trigger landing on a slot's millisecond
--   no longer takes the slot's key (which left the scheduled run silently unclaimed);
-- - `lease_ended`: a run whose end nobody saw before its run lease ended (no result backend, or lost),
--   a finished status so such rows no longer stay `enqueued` for ever;
-- - the in-flight index also covers `buffered`, which the leader's adoption and sweep read.
ALTER TABLE "metronome"."occurrences" DROP CONSTRAINT "occurrences_task_id_unique";--> statement-breakpoint
ALTER TABLE "metronome"."occurrences" DROP CONSTRAINT "status_is_known";--> statement-breakpoint
DROP INDEX "metronome"."occurrences_in_flight_idx";--> statement-breakpoint
ALTER TABLE "metronome"."occurrences" DROP CONSTRAINT "occurrences_schedule_id_scheduled_for_pk";--> statement-breakpoint
ALTER TABLE "metronome"."occurrences" ADD PRIMARY KEY ("task_id");--> statement-breakpoint
CREATE UNIQUE INDEX "occurrences_slot_idx" ON "metronome"."occurrences" USING btree ("schedule_id","scheduled_for") WHERE not "metronome"."occurrences"."manual";--> statement-breakpoint
CREATE INDEX "occurrences_in_flight_idx" ON "metronome"."occurrences" USING btree ("status") WHERE "metronome"."occurrences"."status" in ('claimed', 'buffered', 'enqueued', 'running');--> statement-breakpoint
ALTER TABLE "metronome"."occurrences" ADD CONSTRAINT "status_is_known" CHECK (status in ('claimed', 'enqueued', 'running', 'succeeded', 'failed', 'missed', 'skipped_overlap', 'buffered', 'expired', 'paused', 'revoked', 'lease_ended'));