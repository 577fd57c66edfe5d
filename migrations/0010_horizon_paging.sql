-- Hand-written: indexes for a leader that holds only the schedules due within its horizon
-- (src/beat/schedule-book.ts). It reads firing rows a page at a time in (next_fire_at, id) order —
-- overdue rows first — so the order and the page boundary come straight from one index. Rows with no
-- next_fire_at (inserted or re-specified by SQL) or quarantined ones are found by id through a
-- partial index holding just those, so the background fill never scans the whole table.
CREATE INDEX IF NOT EXISTS "schedules_next_fire_at_id_idx" ON "metronome"."schedules" USING btree ("next_fire_at", "id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "schedules_unsettled_idx" ON "metronome"."schedules" USING btree ("id") WHERE "next_fire_at" IS NULL OR "invalid_reason" IS NOT NULL;--> statement-breakpoint
DROP INDEX IF EXISTS "metronome"."schedules_next_fire_at_idx";
