/**
 * The claim: one transaction per batch that
 * 1. reads the lease row FOR SHARE and checks holder and epoch (the fence — a leader that paused
 *    past its lease finds the epoch moved and claims nothing),
 * 2. advances each schedule's cursor with a version check (a concurrent edit wins; the schedule is
 *    re-read instead of claimed),
 * 3. inserts the occurrences ON CONFLICT DO NOTHING (the primary key makes a double claim
 *    impossible even if two processes believed they led).
 * Only occurrences this transaction inserted are dispatched: at most one enqueue per occurrence.
 */
import { type SQL, sql } from 'drizzle-orm';
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
    await checkLease(database, tx, fence);
    const advanced = new Map<number, number>();
    if (advances.length > 0) {
      const values = sql.join(
        advances.map(
          (a) =>
            sql`(${a.scheduleId}::bigint, ${a.version}::bigint, ${iso(a.nextFireAt)}::timestamptz, ${a.runs}::int, ${iso(a.lastFireAt)}::timestamptz)`,
        ),
        sql`, `,
      );
      const rows = await database.rows<{ id: string | number; version: string | number }>(
        sql`update metronome.schedules s
            set next_fire_at = v.next, total_runs = s.total_runs + v.runs, last_fire_at = coalesce(v.last, s.last_fire_at)
            from (values ${values}) as v(id, version, next, runs, last)
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
  for (let i = 0; i < occurrences.length; i += 1_000) {
    const chunk = occurrences.slice(i, i + 1_000);
    const values: SQL = sql.join(
      chunk.map(
        (o) =>
          sql`(${o.scheduleId}::bigint, ${o.scheduleName}, ${iso(o.scheduledFor)}::timestamptz, ${iso(o.fireAt)}::timestamptz, ${o.taskId}, ${o.status}, ${o.manual}, ${epoch}::bigint, ${o.error}, ${o.status === 'missed' ? sql`clock_timestamp()` : sql`null`})`,
      ),
      sql`, `,
    );
    const rows = await database.rows<{ task_id: string }>(
      sql`insert into metronome.occurrences
            (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status, manual, leader_epoch, error, finished_at)
          values ${values}
          on conflict do nothing
          returning task_id`,
      tx,
    );
    for (const row of rows) inserted.add(row.task_id);
  }
  return inserted;
}
