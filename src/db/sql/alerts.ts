/**
 * The alerts outbox, `metronome.alerts` (migration 0016): one home for its statements.
 * - Raising (`insertAlerts`), in the deadline watch's fenced transaction; the key is unique, so an
 *   alert raised twice (two leaders, a pass retried) is one row.
 * - Delivering, by the leader alone: `claimDeliveries` takes due alerts only while the lease is
 *   ours and pushes their next attempt past the time one attempt may take, in the same statement —
 *   so an attempt under way is not started again by anyone, and a leader that dies mid-attempt
 *   leaves the alert to be tried again (with the same idempotency key) by the next one. Nothing is
 *   lost: a row leaves `pending` only when a receiver accepted it (`markDelivered`).
 */
import { sql } from 'drizzle-orm';
import type { AlertKind, AlertToRaise } from '../../model/deadline.ts';
import type { Database, Db } from '../database.ts';
import { type Fence, leaseIsOurs } from './leader.ts';

export async function insertAlerts(
  database: Database,
  tx: Db,
  epoch: number,
  alerts: readonly AlertToRaise[],
  delivery: 'pending' | 'none',
): Promise<Set<string>> {
  if (alerts.length === 0) return new Set();
  const batch = JSON.stringify(
    alerts.map((a) => ({ ...a, scheduledFor: new Date(a.scheduledFor).toISOString() })),
  );
  const rows = await database.rows<{ key: string }>(
    sql`insert into metronome.alerts (key, schedule_id, schedule_name, scheduled_for, kind, reason, raised_epoch, delivery)
        select a.key, a."scheduleId", a."scheduleName", a."scheduledFor", a.kind, a.reason, ${epoch}::bigint, ${delivery}
        from jsonb_to_recordset(${batch}::jsonb) as a(key text, "scheduleId" bigint, "scheduleName" text,
             "scheduledFor" timestamptz, kind text, reason text)
        on conflict (key) do nothing
        returning key`,
    tx,
  );
  return new Set(rows.map((r) => r.key));
}

export interface AlertRow {
  id: number;
  key: string;
  scheduleId: number;
  scheduleName: string;
  scheduledFor: Date;
  kind: AlertKind;
  reason: string;
  raisedAt: Date;
  attempts: number;
  delivery: 'pending' | 'delivered' | 'none';
  deliveredAt: Date | null;
  lastError: string | null;
}

interface RawAlert {
  id: string | number;
  key: string;
  schedule_id: string | number;
  schedule_name: string;
  scheduled_for: string | Date;
  kind: AlertKind;
  reason: string;
  raised_at: string | Date;
  attempts: number;
  delivery: AlertRow['delivery'];
  delivered_at: string | Date | null;
  last_error: string | null;
}

const COLUMNS = sql.raw(
  'id, key, schedule_id, schedule_name, scheduled_for, kind, reason, raised_at, attempts, delivery, delivered_at, last_error',
);

function fromRow(r: RawAlert): AlertRow {
  return {
    id: Number(r.id),
    key: r.key,
    scheduleId: Number(r.schedule_id),
    scheduleName: r.schedule_name,
    scheduledFor: new Date(r.scheduled_for),
    kind: r.kind,
    reason: r.reason,
    raisedAt: new Date(r.raised_at),
    attempts: Number(r.attempts),
    delivery: r.delivery,
    deliveredAt: r.delivered_at === null ? null : new Date(r.delivered_at),
    lastError: r.last_error,
  };
}

/**
 * Take up to `limit` alerts due for delivery, oldest first, while the lease is ours: each gets its
 * attempt counted and its next attempt set `holdMs` ahead (longer than an attempt may take), so
 * nobody else starts it meanwhile. Rows another transaction holds are skipped, not waited for.
 */
export async function claimDeliveries(
  database: Database,
  fence: Fence,
  limit: number,
  holdMs: number,
): Promise<AlertRow[]> {
  const rows = await database.rows<RawAlert>(sql`
    update metronome.alerts a
    set attempts = a.attempts + 1, next_attempt_at = clock_timestamp() + ${holdMs} * interval '1 millisecond'
    from (select id from metronome.alerts
          where delivery = 'pending' and next_attempt_at <= clock_timestamp()
          order by id limit ${limit} for update skip locked) due
    where a.id = due.id and ${leaseIsOurs(fence)}
    returning a.id, a.key, a.schedule_id, a.schedule_name, a.scheduled_for, a.kind, a.reason, a.raised_at,
              a.attempts, a.delivery, a.delivered_at, a.last_error`);
  return rows.map(fromRow).sort((x, y) => x.id - y.id);
}

/** A receiver accepted it: delivered, whoever's attempt it was (a fact, not a claim to fence). */
export async function markDelivered(database: Database, id: number): Promise<void> {
  await database.rows(sql`
    update metronome.alerts set delivery = 'delivered', delivered_at = clock_timestamp(), last_error = null
    where id = ${id} and delivery = 'pending'`);
}

/** An attempt failed: why, and when to try again. */
export async function markAttemptFailed(
  database: Database,
  id: number,
  error: string,
  retryInMs: number,
): Promise<void> {
  await database.rows(sql`
    update metronome.alerts
    set last_error = ${error.slice(0, 2000)}, next_attempt_at = clock_timestamp() + ${retryInMs} * interval '1 millisecond'
    where id = ${id} and delivery = 'pending'`);
}

/** How many alerts wait for delivery. */
export async function pendingAlertCount(database: Database): Promise<number> {
  const [row] = await database.rows<{ n: string | number }>(
    sql`select count(*) as n from metronome.alerts where delivery = 'pending'`,
  );
  return Number(row?.n ?? 0);
}

/** A schedule's alerts raised since `since`, newest first (the dashboard, the API). */
export async function alertsOf(
  database: Database,
  scheduleName: string,
  since: Date,
  limit = 200,
): Promise<AlertRow[]> {
  const rows = await database.rows<RawAlert>(sql`
    select ${COLUMNS} from metronome.alerts
    where schedule_name = ${scheduleName} and raised_at >= ${since.toISOString()}::timestamptz
    order by raised_at desc, id desc limit ${limit}`);
  return rows.map(fromRow);
}

/**
 * Alerts older than `maxAgeMs` that are over (delivered, or never to be delivered) are deleted with
 * the ledger's history. A pending one is kept whatever its age: an alert is never lost.
 */
export async function pruneAlerts(database: Database, maxAgeMs: number): Promise<number> {
  const rows = await database.rows(sql`
    delete from metronome.alerts
    where delivery <> 'pending' and raised_at < clock_timestamp() - ${maxAgeMs} * interval '1 millisecond'
    returning 1`);
  return rows.length;
}
