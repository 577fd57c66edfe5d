ALTER TABLE "metronome"."occurrences" ADD COLUMN "force" boolean DEFAULT false NOT NULL;--> statement-breakpoint
-- The leader's own bookkeeping on a schedule (its cursor next_fire_at, total_runs, last_fire_at) is
-- not an edit: it keeps the version and sends no notification, so the leader does not get one
-- change notification back for every fire. Any other change bumps the version (the leader's claim
-- checks it, so a person's concurrent edit wins) and notifies as before. The claim transaction says
-- so with a transaction-local setting (an O(1) check per row, where the claim updates hundreds);
-- other writes of only those columns are recognised by comparing the rest of the row.
CREATE OR REPLACE FUNCTION "metronome"."schedules_before_update"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('metronome.bookkeeping', true) = 'on' THEN
    NEW.version := OLD.version;
    RETURN NEW;
  END IF;
  IF (to_jsonb(NEW) - ARRAY['next_fire_at', 'total_runs', 'last_fire_at', 'version', 'updated_at'])
     = (to_jsonb(OLD) - ARRAY['next_fire_at', 'total_runs', 'last_fire_at', 'version', 'updated_at']) THEN
    NEW.version := OLD.version;
    RETURN NEW;
  END IF;
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
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
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "metronome"."schedules_notify"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.version = OLD.version THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
  PERFORM pg_notify('metronome_schedules',
    jsonb_build_object('id', r.id, 'op', TG_OP, 'version', r.version)::text);
  RETURN NULL;
END;
$$;
