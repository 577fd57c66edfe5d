-- Crash failover in well under the lease TTL (docs/runtime.md, "Leadership and fencing"): the
-- holder's lease-session pid, so a standby can see that session close (a crashed holder) and take
-- over at once; and, on such a takeover, when the old lease would have ended, before which the new
-- leader does not re-send the old one's claims.
ALTER TABLE "metronome"."leader" ADD COLUMN "holder_pid" integer;--> statement-breakpoint
ALTER TABLE "metronome"."leader" ADD COLUMN "previous_expires_at" timestamp with time zone;