-- Hand-written: the audit log records actions taken through the client in the package
-- (`import { connect } from 'metronome'`) as `via = 'client'`, beside the CLI's and the HTTP API's.
ALTER TABLE "metronome"."audit_log" DROP CONSTRAINT "via_is_known";--> statement-breakpoint
ALTER TABLE "metronome"."audit_log" ADD CONSTRAINT "via_is_known" CHECK ("metronome"."audit_log"."via" in ('cli', 'api', 'client'));
