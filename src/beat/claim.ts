/**
 * The claim: one transaction per batch that
 * 1. advances each schedule's cursor with a version check (a concurrent edit wins; the schedule is
 *    re-read instead of claimed),
 * 2. inserts the occurrences ON CONFLICT DO NOTHING (the slot's unique key makes a double claim
 *    impossible even if two processes believed they led),
 * 3. last, reads the lease row FOR SHARE and checks holder and epoch (the fence: a leader that paused
 *    past its lease finds the epoch moved, and the whole transaction rolls back).
 * The fence comes last so the shared row lock lives only from the check to the COMMIT: a long claim
 * (a large catch-up) never blocks the lease renewal, which updates that row. Holding it to the COMMIT
 * still makes the check atomic with the claim: a takeover's epoch bump waits for the COMMIT, so the
 * next leader's adoption sees these rows.
 * Only occurrences this transaction inserted are dispatched: at most one enqueue per occurrence.
 */
import { sql } from 'drizzle-orm';
import type { Database, Db } from '../db/database.ts';
import type { OccurrenceStatus } from '../db/schema.ts';

export class FencedError extends Error {
  constructor(reason: string) {
    super(`not the leader any more: ${reason}`);
  }
}

export interface CursorAdvance {
  scheduleId: number;
  version: number;
  nextFireAt: number | null;
  runs: number;
  lastFireAt: number | null;
}

export interface NewOccurrence {
  scheduleId: number;
  scheduleName: string;
  scheduledFor: number;
  fireAt: number;
  taskId: string;
  status: Extract<OccurrenceStatus, 'claimed' | 'missed'>;
  error: string | null;
  manual: boolean;
}

export interface ClaimResult {
  /** Schedules whose cursor moved, with their new version. */
  advanced: Map<number, number>;
  /** Task ids of the occurrences inserted by this claim. */
  inserted: Set<string>;
}

export interface Fence {
  group: string;
  holder: string;
  epoch: number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export async function checkLease(database: Database, tx: Db, fence: Fence): Promise<void> {
  const [lease] = await database.rows<{ holder: string | null; epoch: string | number; valid: boolean }>(
    sql`select holder, epoch, coalesce(expires_at > clock_timestamp(), false) as valid
        from metronome.leader where grp = ${fence.group} for share`,
    tx,
  );
  if (!lease || lease.holder !== fence.holder || Number(lease.epoch) !== fence.epoch || !lease.valid) {
    throw new FencedError(
      lease
        ? `lease held by ${lease.holder ?? 'nobody'} at epoch ${lease.epoch}${lease.valid ? '' : ' (expired)'}, ours was epoch ${fence.epoch}`
        : 'no lease row',
    );
  }
}

export async function claim(
  database: Database,
  fence: Fence,
  advances: CursorAdvance[],
  occurrences: NewOccurrence[],
): Promise<ClaimResult> {
  return database.db.transaction(async (tx) => {
    const advanced = new Map<number, number>();
    if (advances.length > 0) {
      // One JSON parameter for the whole batch, expanded by the server: a fixed, tiny parameter
      // count whatever the batch size (a VALUES list of 500 rows is 2,500 parameters to build and plan).
      const batch = JSON.stringify(
        advances.map((a) => ({
          id: a.scheduleId,
          version: a.version,
          next: iso(a.nextFireAt),
          runs: a.runs,
          last: iso(a.lastFireAt),
        })),
      );
      // Tell the update trigger this is the leader's bookkeeping (no version bump, no notification).
      await database.rows(sql`select set_config('metronome.bookkeeping', 'on', true)`, tx);
      const rows = await database.rows<{ id: string | number; version: string | number }>(
        sql`update metronome.schedules s
            set next_fire_at = v.next, total_runs = s.total_runs + v.runs, last_fire_at = coalesce(v.last, s.last_fire_at)
            from jsonb_to_recordset(${batch}::jsonb) as v(id bigint, version bigint, next timestamptz, runs int, last timestamptz)
            where s.id = v.id and s.version = v.version
            returning s.id, s.version`,
        tx,
      );
      for (const row of rows) advanced.set(Number(row.id), Number(row.version));
    }
    const kept = occurrences.filter(
      (o) => advances.every((a) => a.scheduleId !== o.scheduleId) || advanced.has(o.scheduleId),
    );
    const inserted = await insertOccurrences(database, tx, fence.epoch, kept);
    await checkLease(database, tx, fence);
    return { advanced, inserted };
  });
}

export async function insertOccurrences(
  database: Database,
  tx: Db,
  epoch: number,
  occurrences: NewOccurrence[],
): Promise<Set<string>> {
  const inserted = new Set<string>();
  for (let i = 0; i < occurrences.length; i += 5_000) {
    const batch = JSON.stringify(
      occurrences.slice(i, i + 5_000).map((o) => ({
        schedule_id: o.scheduleId,
        schedule_name: o.scheduleName,
        scheduled_for: iso(o.scheduledFor),
        fire_at: iso(o.fireAt),
        task_id: o.taskId,
        status: o.status,
        manual: o.manual,
        error: o.error,
      })),
    );
    const rows = await database.rows<{ task_id: string }>(
      sql`insert into metronome.occurrences
            (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status, manual, leader_epoch, error, finished_at)
          select o.schedule_id, o.schedule_name, o.scheduled_for, o.fire_at, o.task_id, o.status, o.manual,
                 ${epoch}::bigint, o.error, case when o.status = 'missed' then clock_timestamp() end
          from jsonb_to_recordset(${batch}::jsonb) as o(schedule_id bigint, schedule_name text, scheduled_for timestamptz,
               fire_at timestamptz, task_id text, status text, manual boolean, error text)
          on conflict do nothing
          returning task_id`,
      tx,
    );
    for (const row of rows) inserted.add(row.task_id);
  }
  return inserted;
}
