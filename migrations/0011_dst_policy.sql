-- Hand-written (drizzle-kit generate --custom): a DST policy per crontab (docs/time.md, "DST: one
-- rule, and a policy per schedule"). NULL is the default for the expression (a fixed hour field:
-- the first of a repeated time, a missing one shifted by the gap; an hour field starting with *:
-- both, and skipped). Otherwise the policy in full, in its one canonical spelling.
ALTER TABLE "metronome"."schedules" ADD COLUMN "dst_policy" text;--> statement-breakpoint
ALTER TABLE "metronome"."schedules" ADD CONSTRAINT "dst_policy_is_known" CHECK ("dst_policy" is null or "dst_policy" in ('repeated=first,missing=shift', 'repeated=first,missing=skip', 'repeated=second,missing=shift', 'repeated=second,missing=skip', 'repeated=both,missing=shift', 'repeated=both,missing=skip'));--> statement-breakpoint
ALTER TABLE "metronome"."schedules" ADD CONSTRAINT "dst_policy_only_for_crontab" CHECK ("kind" = 'crontab' or "dst_policy" is null);--> statement-breakpoint
-- The policy is part of what a schedule is: a person changing it with SQL (without setting
-- next_fire_at in the same statement) leaves a next_fire_at computed under the old policy, so clear
-- it, as schedules_before_update does for the other spec columns. A trigger of its own (it runs
-- after schedules_before_update, by name), so that function stays as the earlier migrations define it.
CREATE FUNCTION "metronome"."schedules_dst_policy_changed"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('metronome.bookkeeping', true) IS DISTINCT FROM 'on'
     AND NEW.dst_policy IS DISTINCT FROM OLD.dst_policy
     AND NEW.next_fire_at IS NOT DISTINCT FROM OLD.next_fire_at THEN
    NEW.next_fire_at := NULL;
  END IF;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "schedules_dst_policy_changed"
  BEFORE UPDATE OF "dst_policy" ON "metronome"."schedules"
  FOR EACH ROW EXECUTE FUNCTION "metronome"."schedules_dst_policy_changed"();
