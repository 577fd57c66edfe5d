-- Hand-written (drizzle-kit generate --custom): a change cursor on schedules, so the leader's
-- periodic reconcile (the backstop for change notifications lost while disconnected) reads only the
-- rows changed since its last look instead of the `version` of every row.
-- `change_xid` is the transaction id that last changed what a schedule is: set on insert (column
-- default) and on every update that bumps `version` (the update trigger). The leader reads rows with
-- change_xid >= the xmin of its previous read's snapshot: a transaction still open then has an id at
-- least that xmin, so a change committed late is never skipped. Bookkeeping writes keep it, as they
-- keep the version. Rows from before this migration have none; a start loads every row anyway.
-- Added without a default first, so existing rows are not rewritten.
ALTER TABLE "metronome"."schedules" ADD COLUMN "change_xid" bigint;--> statement-breakpoint
ALTER TABLE "metronome"."schedules" ALTER COLUMN "change_xid" SET DEFAULT (pg_current_xact_id()::text::bigint);--> statement-breakpoint
CREATE INDEX "schedules_change_xid_idx" ON "metronome"."schedules" USING btree ("change_xid") WHERE "change_xid" IS NOT NULL;--> statement-breakpoint
CREATE OR REPLACE FUNCTION "metronome"."schedules_before_update"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('metronome.bookkeeping', true) = 'on' THEN
    NEW.version := OLD.version;
    NEW.change_xid := OLD.change_xid;
    RETURN NEW;
  END IF;
  IF OLD.invalid_reason IS NULL
     AND (to_jsonb(NEW) - ARRAY['next_fire_at', 'total_runs', 'last_fire_at', 'version', 'updated_at', 'change_xid'])
       = (to_jsonb(OLD) - ARRAY['next_fire_at', 'total_runs', 'last_fire_at', 'version', 'updated_at', 'change_xid']) THEN
    NEW.version := OLD.version;
    NEW.change_xid := OLD.change_xid;
    RETURN NEW;
  END IF;
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
  NEW.change_xid := pg_current_xact_id()::text::bigint;
  IF (NEW.kind, NEW.cron, NEW.cron_fields, NEW.timezone, NEW.every_ms, NEW.anchor_at, NEW.solar_event,
      NEW.latitude, NEW.longitude, NEW.run_at, NEW.start_at, NEW.end_at)
     IS DISTINCT FROM
     (OLD.kind, OLD.cron, OLD.cron_fields, OLD.timezone, OLD.every_ms, OLD.anchor_at, OLD.solar_event,
      OLD.latitude, OLD.longitude, OLD.run_at, OLD.start_at, OLD.end_at)
     AND NEW.next_fire_at IS NOT DISTINCT FROM OLD.next_fire_at THEN
    NEW.next_fire_at := NULL;
  END IF;
  RETURN NEW;
END;
$$;
