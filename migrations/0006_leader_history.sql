-- Hand-written (drizzle-kit generate --custom): the leader history, kept by a trigger on the lease
-- row, so the runtime's lease queries stay exactly as they are. One row per term (epoch): taking the
-- lease bumps the epoch and starts a term; clearing the holder (a hand-over on SIGTERM) ends it
-- `released`; a new epoch while the old holder is still set ends the old term either `taken_over`
-- (its lease had not run out: a standby saw its session close, i.e. it crashed) or `expired` at its
-- lease's expiry. The WHEN clause keeps the renewals (every TTL/3) free of any
-- function call. The last 1,000 terms per group are kept.
CREATE FUNCTION "metronome"."leader_history_after_update"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.epoch IS DISTINCT FROM OLD.epoch THEN
    IF OLD.holder IS NOT NULL THEN
      UPDATE "metronome"."leader_history"
         SET ended_at = least(coalesce(OLD.expires_at, clock_timestamp()), clock_timestamp()),
             end_reason = CASE WHEN OLD.expires_at > clock_timestamp() AND OLD.holder IS DISTINCT FROM NEW.holder
                               THEN 'taken_over' ELSE 'expired' END
       WHERE grp = OLD.grp AND epoch = OLD.epoch AND ended_at IS NULL;
    END IF;
    INSERT INTO "metronome"."leader_history" (grp, epoch, holder, started_at)
    VALUES (NEW.grp, NEW.epoch, coalesce(NEW.holder, '?'), clock_timestamp())
    ON CONFLICT (grp, epoch) DO NOTHING;
    DELETE FROM "metronome"."leader_history" WHERE grp = NEW.grp AND epoch <= NEW.epoch - 1000;
  ELSIF NEW.holder IS NULL AND OLD.holder IS NOT NULL THEN
    UPDATE "metronome"."leader_history"
       SET ended_at = clock_timestamp(), end_reason = 'released'
     WHERE grp = OLD.grp AND epoch = OLD.epoch AND ended_at IS NULL;
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "leader_history"
  AFTER UPDATE ON "metronome"."leader"
  FOR EACH ROW
  WHEN (OLD.epoch IS DISTINCT FROM NEW.epoch OR (OLD.holder IS NOT NULL AND NEW.holder IS NULL))
  EXECUTE FUNCTION "metronome"."leader_history_after_update"();
