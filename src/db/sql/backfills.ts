/**
 * Every statement on `metronome.backfills`, and the backfill's claim of ledger rows (issue 20).
 *
 * A backfill is a request (a row) that the elected leader executes, a few slots at a time, at the
 * request's rate. Each step is one transaction, fenced like the tick's claim (src/beat/claim.ts):
 * 1. a slot the ledger has `missed` (never sent) is taken back as `claimed` by this backfill;
 * 2. a slot the ledger does not have is inserted `claimed` ON CONFLICT DO NOTHING, with the slot's
 *    deterministic task id — the unique slot index `occurrences_slot_idx` makes a second claim of a
 *    slot impossible, whoever tries (the tick, another backfill, a second leader);
 * 3. the request's cursor (`next_slot`) moves past the slots looked at;
 * 4. last, the lease is checked (holder and epoch): a leader paused past its lease rolls back.
 * Only rows this transaction claimed are sent, so a slot is sent at most once; every other slot
 * of the range is already in the ledger (sent, running, finished, skipped) and is counted
 * `already`. A leader killed between two steps leaves the cursor where the next leader resumes;
 * one killed after a step but before its sends leaves claimed rows that the next leader adopts.
 */
import { sql } from 'drizzle-orm';
import { TRIGGER_CHANNEL } from '../channels.ts';
import type { Database, Db } from '../database.ts';
import type { BackfillStatus, OccurrenceStatus } from '../schema.ts';
import { checkLease, type Fence } from './leader.ts';

export interface Backfill {
  id: number;
  scheduleId: number;
  scheduleName: string;
  from: number;
  to: number;
  ratePerSecond: number;
  /** Slots in the range when it was requested. */
  slots: number;
  /** The first slot not yet claimed; null once every slot was looked at. */
  nextSlot: number | null;
  /** Slots this backfill claimed (it sends them). */
  claimed: number;
  /** Slots already in the ledger (not sent again). */
  already: number;
  status: BackfillStatus;
  error: string | null;
  requestedBy: string;
  requestedAt: number;
  finishedAt: number | null;
}

interface BackfillRow {
  id: string | number;
  schedule_id: string | number;
  schedule_name: string;
  range_from: string | Date;
  range_to: string | Date;
  rate_per_second: number | string;
  slots: number;
  next_slot: string | Date | null;
  claimed: number;
  already: number;
  status: BackfillStatus;
  error: string | null;
  requested_by: string;
  requested_at: string | Date;
  finished_at: string | Date | null;
}

const ms = (v: string | Date) => new Date(v).getTime();
const iso = (v: number) => new Date(v).toISOString();

function fromRow(r: BackfillRow): Backfill {
  return {
    id: Number(r.id),
    scheduleId: Number(r.schedule_id),
    scheduleName: r.schedule_name,
    from: ms(r.range_from),
    to: ms(r.range_to),
    ratePerSecond: Number(r.rate_per_second),
    slots: Number(r.slots),
    nextSlot: r.next_slot === null ? null : ms(r.next_slot),
    claimed: Number(r.claimed),
    already: Number(r.already),
    status: r.status,
    error: r.error,
    requestedBy: r.requested_by,
    requestedAt: ms(r.requested_at),
    finishedAt: r.finished_at === null ? null : ms(r.finished_at),
  };
}

const COLUMNS = sql`id, schedule_id, schedule_name, range_from, range_to, rate_per_second, slots, next_slot,
  claimed, already, status, error, requested_by, requested_at, finished_at`;

export interface NewBackfill {
  scheduleId: number;
  scheduleName: string;
  from: number;
  to: number;
  ratePerSecond: number;
  slots: number;
  firstSlot: number | null;
  requestedBy: string;
}

/** Record a backfill in the caller's transaction and tell the leader (the trigger channel). */
export async function insertBackfill(database: Database, tx: Db, b: NewBackfill): Promise<Backfill> {
  const done = b.firstSlot === null;
  const [row] = await database.rows<BackfillRow>(
    sql`insert into metronome.backfills
          (schedule_id, schedule_name, range_from, range_to, rate_per_second, slots, next_slot, status,
           requested_by, finished_at)
        values (${b.scheduleId}, ${b.scheduleName}, ${iso(b.from)}, ${iso(b.to)}, ${b.ratePerSecond}, ${b.slots},
                ${b.firstSlot === null ? null : iso(b.firstSlot)}, ${done ? 'done' : 'pending'}, ${b.requestedBy},
                ${done ? sql`clock_timestamp()` : null})
        returning ${COLUMNS}`,
    tx,
  );
  if (!row) throw new Error('insert into metronome.backfills returned no row');
  if (!done) await database.rows(sql`select pg_notify(${TRIGGER_CHANNEL}, ${`backfill:${row.id}`})`, tx);
  return fromRow(row);
}

/** Backfills the leader has to work on, oldest first. */
export async function openBackfills(database: Database): Promise<Backfill[]> {
  const rows = await database.rows<BackfillRow>(
    sql`select ${COLUMNS} from metronome.backfills where status in ('pending', 'running') order by id`,
  );
  return rows.map(fromRow);
}

/** A schedule's backfills, newest first (`beat show`, the API, the dashboard). */
export async function backfillsOf(database: Database, scheduleName: string, limit = 20): Promise<Backfill[]> {
  const rows = await database.rows<BackfillRow>(
    sql`select ${COLUMNS} from metronome.backfills where schedule_name = ${scheduleName}
        order by id desc limit ${limit}`,
  );
  return rows.map(fromRow);
}

/** What the ledger holds at these slots of a schedule (scheduled rows, not manual runs). */
export async function ledgerAtSlots(
  database: Database,
  scheduleId: number,
  from: number,
  to: number,
): Promise<Map<number, OccurrenceStatus>> {
  const rows = await database.rows<{ ms: number | string; status: OccurrenceStatus }>(
    sql`select (extract(epoch from scheduled_for) * 1000)::float8 as ms, status from metronome.occurrences
        where schedule_id = ${scheduleId} and not manual and scheduled_for between ${iso(from)} and ${iso(to)}`,
  );
  return new Map(rows.map((r) => [Number(r.ms), r.status]));
}

export interface BackfillSlot {
  scheduledFor: number;
  taskId: string;
}

export interface BackfillClaim {
  /** Slots claimed by this step (to send), with the database time they were claimed (fire_at). */
  /**
   * `retaken`: a `missed` row taken back, which an earlier attempt may have sent (its reply lost):
   * the runtime must be asked for it before it is sent.
   */
  claimed: Array<BackfillSlot & { fireAt: number; retaken: boolean }>;
  /** Slots the ledger already had. */
  already: number;
  /** The backfill was cancelled (or ended) meanwhile: nothing was claimed. */
  closed: boolean;
}

/**
 * One step of a backfill, fenced (see the header): claim `slots` (each with its deterministic task
 * id) and move the cursor to `nextSlot` (null: the range is done).
 */
export async function claimBackfillSlots(
  database: Database,
  fence: Fence,
  backfill: Pick<Backfill, 'id' | 'scheduleId' | 'scheduleName'>,
  slots: readonly BackfillSlot[],
  nextSlot: number | null,
): Promise<BackfillClaim> {
  const batch = JSON.stringify(slots.map((s) => ({ scheduled_for: iso(s.scheduledFor), task_id: s.taskId })));
  return database.db.transaction(async (tx) => {
    // Locked first: a cancel waits for this step, or this step sees the cancel and claims nothing.
    const [open] = await database.rows<{ id: string }>(
      sql`select id from metronome.backfills where id = ${backfill.id} and status in ('pending', 'running')
          for update`,
      tx,
    );
    if (!open) return { claimed: [], already: 0, closed: true };
    type Claimed = { task_id: string; ms: number | string; fire_ms: number | string };
    // Never sent (`missed`: the leader was down, the slot out of its catch-up window): taken back.
    const retaken = await database.rows<Claimed>(
      sql`with s as (select * from jsonb_to_recordset(${batch}::jsonb) as s(scheduled_for timestamptz, task_id text)),
          now as (select date_trunc('milliseconds', clock_timestamp()) as at)
          update metronome.occurrences o
          set status = 'claimed', backfill_id = ${backfill.id}, leader_epoch = ${fence.epoch}, error = null,
              finished_at = null, enqueued_at = null, fire_at = now.at, claimed_at = now.at
          from s, now
          where o.schedule_id = ${backfill.scheduleId} and not o.manual and o.scheduled_for = s.scheduled_for
            and o.status = 'missed'
          returning o.task_id, (extract(epoch from o.scheduled_for) * 1000)::float8 as ms,
                    (extract(epoch from o.fire_at) * 1000)::float8 as fire_ms`,
      tx,
    );
    const inserted = await database.rows<Claimed>(
      sql`with now as (select date_trunc('milliseconds', clock_timestamp()) as at)
          insert into metronome.occurrences
            (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status, manual, leader_epoch, backfill_id)
          select ${backfill.scheduleId}, ${backfill.scheduleName}, s.scheduled_for, now.at, s.task_id, 'claimed', false,
                 ${fence.epoch}::bigint, ${backfill.id}::bigint
          from jsonb_to_recordset(${batch}::jsonb) as s(scheduled_for timestamptz, task_id text), now
          on conflict do nothing
          returning task_id, (extract(epoch from scheduled_for) * 1000)::float8 as ms,
                    (extract(epoch from fire_at) * 1000)::float8 as fire_ms`,
      tx,
    );
    const claimed = [
      ...retaken.map((r) => ({ r, retaken: true })),
      ...inserted.map((r) => ({ r, retaken: false })),
    ].map(({ r, retaken }) => ({
      taskId: r.task_id,
      scheduledFor: Number(r.ms),
      fireAt: Number(r.fire_ms),
      retaken,
    }));
    const already = slots.length - claimed.length;
    const done = nextSlot === null;
    await database.rows(
      sql`update metronome.backfills
          set next_slot = ${nextSlot === null ? null : iso(nextSlot)}, claimed = claimed + ${claimed.length},
              already = already + ${already}, status = ${done ? 'done' : 'running'},
              finished_at = ${done ? sql`clock_timestamp()` : null}
          where id = ${backfill.id}`,
      tx,
    );
    await checkLease(database, tx, fence);
    return { claimed: claimed.sort((a, b) => a.scheduledFor - b.scheduledFor), already, closed: false };
  });
}

/**
 * Cancel a schedule's open backfills (the slots already claimed go on; no further slot is claimed).
 * In the caller's transaction; returns the backfills cancelled.
 */
export async function cancelBackfills(database: Database, tx: Db, scheduleName: string): Promise<Backfill[]> {
  const rows = await database.rows<BackfillRow>(
    sql`update metronome.backfills set status = 'cancelled', finished_at = clock_timestamp()
        where schedule_name = ${scheduleName} and status in ('pending', 'running')
        returning ${COLUMNS}`,
    tx,
  );
  if (rows.length > 0) await database.rows(sql`select pg_notify(${TRIGGER_CHANNEL}, 'backfill:cancel')`, tx);
  return rows.map(fromRow);
}

/** End a backfill that cannot go on (its schedule was removed or is invalid), with why. */
export async function failBackfill(database: Database, id: number, error: string): Promise<void> {
  await database.rows(
    sql`update metronome.backfills set status = 'failed', error = ${error}, finished_at = clock_timestamp()
        where id = ${id} and status in ('pending', 'running')`,
  );
}
