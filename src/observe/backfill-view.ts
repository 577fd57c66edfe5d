/**
 * Backfills as JSON, one shape for the CLI's `--json` and the HTTP API: instants as ISO 8601 UTC,
 * the rate in runs a second.
 */
import type { Backfill } from '../db/sql/backfills.ts';
import type { BackfillPlan } from '../operate/backfill.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A recorded backfill request and how far it got. */
export function backfillJson(b: Backfill) {
  return {
    id: b.id,
    schedule: b.scheduleName,
    from: iso(b.from),
    to: iso(b.to),
    ratePerSecond: b.ratePerSecond,
    slots: b.slots,
    claimed: b.claimed,
    already: b.already,
    nextSlot: iso(b.nextSlot),
    status: b.status,
    error: b.error,
    requestedBy: b.requestedBy,
    requestedAt: iso(b.requestedAt),
    finishedAt: iso(b.finishedAt),
  };
}

/** The slots a backfill would fire (its dry run): each with its task id and what the ledger holds. */
export function planJson(plan: BackfillPlan) {
  return {
    name: plan.name,
    from: new Date(plan.from).toISOString(),
    to: new Date(plan.to).toISOString(),
    ratePerSecond: plan.ratePerSecond,
    slots: plan.slots.map((s) => ({
      scheduledFor: new Date(s.scheduledFor).toISOString(),
      taskId: s.taskId,
      ledger: s.ledger,
      sends: s.sends,
    })),
    toSend: plan.toSend,
  };
}
