-- Written by hand (issue 19): business calendars. A calendar is a named set of excluded civil days
-- (calendar_days: one day or an inclusive range each) and excluded weekdays; a schedule names the
-- calendars that exclude its fires (`calendars`, by name: a name that is no calendar quarantines the
-- schedule, naming it) and what an excluded fire does (`on_excluded`: skip, previous, next). A slot
-- a calendar skips is recorded with the status `skipped` (migration 0015) and a reason naming the
-- calendar and the day.
-- Expand-only: the previous release runs against it (new columns have defaults, new tables are new).
CREATE TABLE "metronome"."calendars" (
	"name" text PRIMARY KEY NOT NULL,
	"description" text,
	"weekdays" smallint[] DEFAULT '{}' NOT NULL,
	"managed_by" text DEFAULT 'db' NOT NULL,
	"source" text,
	"version" bigint DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "calendar_name_not_blank" CHECK (length(btrim("name")) > 0 and length("name") <= 200),
	CONSTRAINT "calendar_name_is_printable" CHECK ("name" !~ '[\x01-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]'),
	CONSTRAINT "weekdays_0_to_6" CHECK ("weekdays" <@ '{0,1,2,3,4,5,6}'::smallint[]),
	CONSTRAINT "calendar_managed_by_is_known" CHECK ("managed_by" in ('code', 'db'))
);
--> statement-breakpoint
CREATE TABLE "metronome"."calendar_days" (
	"calendar" text NOT NULL REFERENCES "metronome"."calendars"("name") ON DELETE CASCADE ON UPDATE CASCADE,
	"first_day" date NOT NULL,
	"last_day" date NOT NULL,
	"label" text,
	CONSTRAINT "calendar_days_pkey" PRIMARY KEY ("calendar", "first_day"),
	CONSTRAINT "last_day_not_before_first_day" CHECK ("last_day" >= "first_day"),
	CONSTRAINT "day_range_at_most_3660_days" CHECK ("last_day" - "first_day" < 3660),
	CONSTRAINT "days_are_finite" CHECK (isfinite("first_day") and isfinite("last_day"))
);
--> statement-breakpoint
ALTER TABLE "metronome"."schedules" ADD COLUMN "calendars" text[] DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE "metronome"."schedules" ADD COLUMN "on_excluded" text DEFAULT 'skip' NOT NULL;--> statement-breakpoint
ALTER TABLE "metronome"."schedules" ADD COLUMN "calendar_revision" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "metronome"."schedules" ADD CONSTRAINT "on_excluded_is_known" CHECK ("on_excluded" in ('skip', 'previous', 'next'));--> statement-breakpoint
ALTER TABLE "metronome"."schedules" ADD CONSTRAINT "calendars_has_no_nulls" CHECK (array_position("calendars", null) is null);--> statement-breakpoint
CREATE INDEX "schedules_calendars_idx" ON "metronome"."schedules" USING gin ("calendars");--> statement-breakpoint
-- A calendar's edit is an edit of every schedule that names it, live: its rows (and a calendar
-- created or deleted under a name a schedule uses) bump those schedules' calendar_revision, which the
-- update trigger turns into a new version, a change_xid and a notification -- the change feed the
-- leader already follows -- and the next trigger into a next_fire_at to recompute.
CREATE FUNCTION "metronome"."calendars_before_update"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- What a calendar excludes is its weekdays and its days (whose trigger sets version itself); a
  -- new description is no edit of its schedules.
  IF NEW.version = OLD.version AND (NEW.name, NEW.weekdays) IS DISTINCT FROM (OLD.name, OLD.weekdays) THEN
    NEW.version := OLD.version + 1;
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "calendars_before_update"
  BEFORE UPDATE ON "metronome"."calendars"
  FOR EACH ROW EXECUTE FUNCTION "metronome"."calendars_before_update"();
--> statement-breakpoint
CREATE FUNCTION "metronome"."calendars_touch_schedules"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  names text[];
BEGIN
  IF TG_OP = 'INSERT' THEN names := ARRAY[NEW.name];
  ELSIF TG_OP = 'DELETE' THEN names := ARRAY[OLD.name];
  ELSIF NEW.version = OLD.version THEN RETURN NULL;
  ELSE names := ARRAY[OLD.name, NEW.name];
  END IF;
  UPDATE "metronome"."schedules" SET calendar_revision = calendar_revision + 1 WHERE calendars && names;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "calendars_touch_schedules"
  AFTER INSERT OR UPDATE OR DELETE ON "metronome"."calendars"
  FOR EACH ROW EXECUTE FUNCTION "metronome"."calendars_touch_schedules"();
--> statement-breakpoint
-- Days: once per statement and calendar (an import of 300 holidays is one edit, not 300).
CREATE FUNCTION "metronome"."calendar_days_changed"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE "metronome"."calendars" SET version = version + 1 WHERE name IN (SELECT calendar FROM new_days);
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE "metronome"."calendars" SET version = version + 1 WHERE name IN (SELECT calendar FROM old_days);
  ELSE
    UPDATE "metronome"."calendars" SET version = version + 1
     WHERE name IN (SELECT calendar FROM old_days UNION SELECT calendar FROM new_days);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "calendar_days_inserted"
  AFTER INSERT ON "metronome"."calendar_days" REFERENCING NEW TABLE AS new_days
  FOR EACH STATEMENT EXECUTE FUNCTION "metronome"."calendar_days_changed"();
--> statement-breakpoint
CREATE TRIGGER "calendar_days_updated"
  AFTER UPDATE ON "metronome"."calendar_days" REFERENCING OLD TABLE AS old_days NEW TABLE AS new_days
  FOR EACH STATEMENT EXECUTE FUNCTION "metronome"."calendar_days_changed"();
--> statement-breakpoint
CREATE TRIGGER "calendar_days_deleted"
  AFTER DELETE ON "metronome"."calendar_days" REFERENCING OLD TABLE AS old_days
  FOR EACH STATEMENT EXECUTE FUNCTION "metronome"."calendar_days_changed"();
--> statement-breakpoint
-- Which calendars a schedule names, what it does with an excluded fire, or a calendar's content:
-- part of when it fires. A change made without setting next_fire_at in the same statement leaves a
-- next_fire_at computed under the old calendars, so clear it (as 0011 does for the DST policy).
CREATE FUNCTION "metronome"."schedules_calendars_changed"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('metronome.bookkeeping', true) IS DISTINCT FROM 'on'
     AND (NEW.calendars, NEW.on_excluded, NEW.calendar_revision)
         IS DISTINCT FROM (OLD.calendars, OLD.on_excluded, OLD.calendar_revision)
     AND NEW.next_fire_at IS NOT DISTINCT FROM OLD.next_fire_at THEN
    NEW.next_fire_at := NULL;
  END IF;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "schedules_calendars_changed"
  BEFORE UPDATE OF "calendars", "on_excluded", "calendar_revision" ON "metronome"."schedules"
  FOR EACH ROW EXECUTE FUNCTION "metronome"."schedules_calendars_changed"();
