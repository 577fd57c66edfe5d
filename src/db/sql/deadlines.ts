/**
 * The deadline watch's reads and writes (src/beat/deadline-watch.ts): the occurrences of schedules
 * with deadlines whose outcome is not decided yet, and — in one transaction, fenced by the leader's
 * lease — the outcomes decided and the alerts raised. Schedules without deadlines are never read:
 * the pass starts from the partial index of schedules that have one (migration 0016) and reaches
 * their occurrences through the slot index, so they cost nothing however many there are.
 */
import { sql } from 'drizzle-orm';
import type { AlertToRaise, BreachKind, DeadlineOutcome } from '../../model/deadline.ts';
import type { Database } from '../database.ts';
import { insertAlerts } from './alerts.ts';
import { checkLease, type Fence } from './leader.ts';

export interface UndecidedOccurrence {
  taskId: string;
  scheduleId: number;
  scheduleName: string;
  scheduledFor: number;
  status: string;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
  startDeadlineMs: number | null;
  finishDeadlineMs: number | null;
}

interface Row {
  task_id: string;
  schedule_id: string | number;
  schedule_name: string;
  scheduled_for: string | Date;
  status: string;
  started_at: string | Date | null;
  finished_at: string | Date | null;
  error: string | null;
  start_deadline_ms: string | number | null;
  finish_deadline_ms: string | number | null;
  now: string | Date;
}

const ms = (v: string | Date | null) => (v === null ? null : new Date(v).getTime());
const num = (v: string | number | null) => (v === null ? null : Number(v));

/**
 * Scheduled (not manual) occurrences of schedules with deadlines, slot at most now, outcome not
 * decided, slot after `since` or within the last minute (a slot claimed at its instant lands a
 * moment after it). A `wide` read also looks back over each schedule's catch-up window, where a
 * catch-up or an edit records slots late (missed, with an older slot); it costs more (every slot of
 * that window is looked at), so the watch makes it now and then, not every pass.
 * Returns them with the database's now, by which they are judged.
 */
export async function undecidedOccurrences(
  database: Database,
  since: number,
  limit: number,
  wide: boolean,
): Promise<{ now: number; rows: UndecidedOccurrence[] }> {
  const back = wide ? sql`s.catchup_window_ms + 60000` : sql`60000`;
  const rows = await database.rows<Row>(sql`
    select o.task_id, o.schedule_id, o.schedule_name, o.scheduled_for, o.status, o.started_at,
           o.finished_at, o.error, s.start_deadline_ms, s.finish_deadline_ms, clock_timestamp() as now
    from metronome.schedules s
    join metronome.occurrences o on o.schedule_id = s.id and not o.manual
    where (s.start_deadline_ms is not null or s.finish_deadline_ms is not null)
      and o.deadline_outcome is null
      and o.scheduled_for <= clock_timestamp()
      and o.scheduled_for >= least(${new Date(since).toISOString()}::timestamptz,
            clock_timestamp() - (${back}) * interval '1 millisecond')
    order by o.scheduled_for
    limit ${limit}`);
  const [{ now } = { now: new Date() }] =
    rows.length > 0 ? rows : await database.rows<{ now: Date }>(sql`select clock_timestamp() as now`);
  return {
    now: new Date(now).getTime(),
    rows: rows.map((r) => ({
      taskId: r.task_id,
      scheduleId: Number(r.schedule_id),
      scheduleName: r.schedule_name,
      scheduledFor: ms(r.scheduled_for) as number,
      status: r.status,
      startedAt: ms(r.started_at),
      finishedAt: ms(r.finished_at),
      error: r.error,
      startDeadlineMs: num(r.start_deadline_ms),
      finishDeadlineMs: num(r.finish_deadline_ms),
    })),
  };
}

export interface DecidedOutcome {
  taskId: string;
  outcome: DeadlineOutcome;
  reason: string;
}

/**
 * Record the outcomes decided and the alerts raised by one pass, only while the lease is ours (a
 * leader that lost it raises nothing: the next one judges the same occurrences). An alert already
 * raised (same key) is not raised again. Returns the keys of the alerts inserted now.
 */
export async function recordJudgements(
  database: Database,
  fence: Fence,
  decided: readonly DecidedOutcome[],
  alerts: readonly AlertToRaise[],
  delivery: 'pending' | 'none',
): Promise<Set<string>> {
  if (decided.length === 0 && alerts.length === 0) return new Set();
  return database.db.transaction(async (tx) => {
    await checkLease(database, tx, fence);
    if (decided.length > 0) {
      await database.rows(
        sql`update metronome.occurrences o
            set deadline_outcome = d.outcome, deadline_reason = d.reason
            from jsonb_to_recordset(${JSON.stringify(decided)}::jsonb) as d("taskId" text, outcome text, reason text)
            where o.task_id = d."taskId" and o.deadline_outcome is null`,
        tx,
      );
    }
    return insertAlerts(database, tx, fence.epoch, alerts, delivery);
  });
}

/**
 * Each schedule's breach kinds alerted since its last recovery (the schedules in breach), from
 * the alerts table: what a new leader starts from, so it neither repeats nor forgets a breach.
 */
export async function openBreaches(database: Database): Promise<Map<number, Set<BreachKind>>> {
  const rows = await database.rows<{ schedule_id: string | number; kind: BreachKind }>(sql`
    select distinct a.schedule_id, a.kind from metronome.alerts a
    where a.kind <> 'recovered'
      and exists (select 1 from metronome.schedules s where s.id = a.schedule_id
                  and (s.start_deadline_ms is not null or s.finish_deadline_ms is not null))
      and a.id > coalesce((select max(r.id) from metronome.alerts r
                           where r.schedule_id = a.schedule_id and r.kind = 'recovered'), 0)`);
  const open = new Map<number, Set<BreachKind>>();
  for (const r of rows) {
    const id = Number(r.schedule_id);
    open.set(id, (open.get(id) ?? new Set()).add(r.kind));
  }
  return open;
}

export interface JudgedRow {
  scheduledFor: Date;
  outcome: DeadlineOutcome;
  reason: string | null;
  /** Start (or, with none seen, the finish of a run that succeeded) minus the slot, ms; null when it never ran. */
  latenessMs: number | null;
}

/**
 * A schedule's decided occurrences with slots in [from, now] (the dashboard's last 7 days), newest
 * first, at most `limit`: through the history index (schedule_name, scheduled_for).
 */
export async function judgedOccurrences(
  database: Database,
  scheduleName: string,
  from: number,
  limit: number,
): Promise<JudgedRow[]> {
  const rows = await database.rows<{
    scheduled_for: string | Date;
    outcome: DeadlineOutcome;
    reason: string | null;
    lateness_ms: string | number | null;
  }>(sql`
    select scheduled_for, deadline_outcome as outcome, deadline_reason as reason,
           (extract(epoch from coalesce(started_at, case when status = 'succeeded' then finished_at end) - scheduled_for) * 1000)::bigint as lateness_ms
    from metronome.occurrences
    where schedule_name = ${scheduleName} and not manual and deadline_outcome is not null
      and scheduled_for >= ${new Date(from).toISOString()}::timestamptz
    order by scheduled_for desc
    limit ${limit}`);
  return rows.map((r) => ({
    scheduledFor: new Date(r.scheduled_for),
    outcome: r.outcome,
    reason: r.reason,
    latenessMs: r.lateness_ms === null ? null : Number(r.lateness_ms),
  }));
}
