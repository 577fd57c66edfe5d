/**
 * `beat backfill NAME --from T1 --to T2`, the API's POST /schedules/NAME/backfill and the client's
 * `backfill()`: list the slots of a past range (the dry run) and record a backfill request that the
 * elected leader executes at its rate (src/beat/backfill-runner.ts). Nothing here sends a run: the
 * leader does, fenced by its term, each slot claimed once through the ledger's unique slot index.
 */

import type { Database } from '../db/database.ts';
import type { OccurrenceStatus } from '../db/schema.ts';
import { recordAction } from '../db/sql/audit.ts';
import {
  type Backfill,
  backfillsOf,
  cancelBackfills,
  insertBackfill,
  ledgerAtSlots,
} from '../db/sql/backfills.ts';
import { calendarsOf } from '../db/sql/calendars.ts';
import { lockScheduleIfAny } from '../db/sql/schedules.ts';
import { databaseNow } from '../db/store.ts';
import {
  BACKFILL_CONFIRM_OVER,
  BACKFILL_MAX_SLOTS,
  DEFAULT_BACKFILL_RATE,
  formatRate,
  rangeProblem,
  slotsInRange,
} from '../model/backfill.ts';
import type { ScheduleRecord } from '../model/index.ts';
import { taskIdFor } from '../model/task-id.ts';
import { validateRecord } from '../model/validate.ts';
import type { Actor } from './actor.ts';
import { notFound, OperationError } from './errors.ts';

export interface BackfillRequest {
  name: string;
  from: number;
  to: number;
  /** Slots a second; default DEFAULT_BACKFILL_RATE. */
  ratePerSecond?: number;
  /** Needed when the range has more than BACKFILL_CONFIRM_OVER slots. */
  confirm?: boolean;
}

/** One slot of the range, and what the backfill will do with it. */
export interface PlannedSlot {
  scheduledFor: number;
  taskId: string;
  /** What the ledger holds at this slot now; null: nothing (the backfill sends it). */
  ledger: OccurrenceStatus | null;
  /** Whether the backfill sends it: a slot with no row, or one recorded `missed` (never sent). */
  sends: boolean;
}

export interface BackfillPlan {
  name: string;
  from: number;
  to: number;
  ratePerSecond: number;
  slots: PlannedSlot[];
  /** How many of them it sends. */
  toSend: number;
}

/** Why a backfill cannot be recorded: a bad range, an invalid schedule, or an unconfirmed large range. */
export type BackfillErrorCode = 'bad_range' | 'needs_confirmation' | 'invalid';

export class BackfillError extends OperationError {
  constructor(
    readonly reason: BackfillErrorCode,
    message: string,
  ) {
    super(reason === 'invalid' ? 'invalid' : 'conflict', message);
  }
}

/** The dry run: the range's slots, each with what the ledger holds and whether it would be sent. */
export async function planBackfill(database: Database, request: BackfillRequest): Promise<BackfillPlan> {
  const record = await database.db.transaction(async (tx) => lockScheduleIfAny(tx, request.name));
  if (!record) throw notFound(request.name);
  return planFor(database, record, request, await databaseNow(database));
}

async function planFor(
  database: Database,
  record: ScheduleRecord,
  request: BackfillRequest,
  now: number,
): Promise<BackfillPlan> {
  const name = JSON.stringify(record.name);
  const range = rangeProblem(request.from, request.to, now);
  if (range) throw new BackfillError('bad_range', `cannot backfill ${name}: ${range}`);
  // Through the calendars it names: a backfill sends the slots the schedule fires, not those they skip.
  const check = validateRecord(record, now, await calendarsOf(database.db, [record]));
  if (!check.ok)
    throw new BackfillError('invalid', `cannot backfill ${name}: it is invalid (${check.reason})`);
  const times = slotsInRange(check.schedule, record, request.from, request.to, BACKFILL_MAX_SLOTS + 1);
  if (times.length > BACKFILL_MAX_SLOTS) {
    throw new BackfillError(
      'bad_range',
      `cannot backfill ${name}: the range holds more than ${BACKFILL_MAX_SLOTS} slots; split it into smaller --from/--to ranges`,
    );
  }
  const ledger = await ledgerAtSlots(database, record.id, request.from, request.to);
  const slots = times.map((at) => {
    const status = ledger.get(at) ?? null;
    return {
      scheduledFor: at,
      taskId: taskIdFor(record.id, at),
      ledger: status,
      sends: status === null || status === 'missed',
    };
  });
  return {
    name: record.name,
    from: request.from,
    to: request.to,
    ratePerSecond: request.ratePerSecond ?? DEFAULT_BACKFILL_RATE,
    slots,
    toSend: slots.filter((s) => s.sends).length,
  };
}

/**
 * Record the backfill for the leader (and the action in the audit log, in the same transaction).
 * A range of more than BACKFILL_CONFIRM_OVER slots is refused unless `confirm` is set.
 */
export async function requestBackfill(
  database: Database,
  request: BackfillRequest,
  actor: Actor,
): Promise<{ plan: BackfillPlan; backfill: Backfill }> {
  return database.db.transaction(async (tx) => {
    const record = await lockScheduleIfAny(tx, request.name);
    if (!record) throw notFound(request.name);
    const plan = await planFor(database, record, request, await databaseNow(database, tx));
    if (plan.slots.length > BACKFILL_CONFIRM_OVER && !request.confirm) {
      throw new BackfillError(
        'needs_confirmation',
        `backfill of ${JSON.stringify(record.name)} holds ${plan.slots.length} slots (more than ${BACKFILL_CONFIRM_OVER}); confirm with --yes (API: "confirm": true)`,
      );
    }
    const backfill = await insertBackfill(database, tx, {
      scheduleId: record.id,
      scheduleName: record.name,
      from: request.from,
      to: request.to,
      ratePerSecond: plan.ratePerSecond,
      slots: plan.slots.length,
      firstSlot: plan.slots[0]?.scheduledFor ?? null,
      requestedBy: actor.name,
    });
    await recordAction(tx, actor, 'backfill', record.name, {
      backfill: backfill.id,
      from: new Date(request.from).toISOString(),
      to: new Date(request.to).toISOString(),
      slots: plan.slots.length,
      toSend: plan.toSend,
      rate: formatRate(plan.ratePerSecond),
    });
    return { plan, backfill };
  });
}

/**
 * Cancel a schedule's open backfills: no further slot is claimed (the leader sees it at its next
 * step); runs already sent go on. Recorded in the audit log. Returns the backfills cancelled.
 */
export async function cancelBackfill(database: Database, name: string, actor: Actor): Promise<Backfill[]> {
  return database.db.transaction(async (tx) => {
    const record = await lockScheduleIfAny(tx, name);
    const cancelled = await cancelBackfills(database, tx, name);
    if (!record && cancelled.length === 0) throw notFound(name);
    if (cancelled.length > 0) {
      await recordAction(tx, actor, 'backfill', name, {
        cancelled: cancelled.map((b) => b.id),
        claimed: cancelled.reduce((n, b) => n + b.claimed, 0),
      });
    }
    return cancelled;
  });
}

/** A schedule's backfills, newest first. */
export async function listBackfills(database: Database, name: string): Promise<Backfill[]> {
  return backfillsOf(database, name);
}
