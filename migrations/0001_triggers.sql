-- Hand-written (drizzle-kit generate --custom): the triggers drizzle-kit cannot express.

-- Every update bumps `version` (the runtime's reconcile compares it; its claim advances
-- next_fire_at with a version check) and `updated_at`.
-- When a person changes what a schedule *is* (its spec or its window) without setting
-- next_fire_at in the same statement, the stored next_fire_at belongs to the old spec: clear it,
-- and the store recomputes it on the next load. Writes by Metronome set next_fire_at themselves.
CREATE FUNCTION "metronome"."schedules_before_update"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
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
CREATE TRIGGER "schedules_before_update"
  BEFORE UPDATE ON "metronome"."schedules"
  FOR EACH ROW EXECUTE FUNCTION "metronome"."schedules_before_update"();
--> statement-breakpoint
-- The change feed: one notification per changed row, so the leader refreshes that schedule
-- instead of reloading everything. Payload: {"id": 42, "op": "UPDATE", "version": 7}.
CREATE FUNCTION "metronome"."schedules_notify"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
  PERFORM pg_notify('metronome_schedules',
    jsonb_build_object('id', r.id, 'op', TG_OP, 'version', r.version)::text);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "schedules_notify"
  AFTER INSERT OR UPDATE OR DELETE ON "metronome"."schedules"
  FOR EACH ROW EXECUTE FUNCTION "metronome"."schedules_notify"();
