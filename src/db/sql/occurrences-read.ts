/**
 * The reads of the ledger, `metronome.occurrences`, that observe/, the CLI and the store make (its
 * writes: occurrences.ts). Each statement reads an index made for it (src/db/schema.ts): the
 * history index by name and instant, the BRIN on scheduled_for, the partial index of problem rows,
 * the partial index of runs in flight.
 */
import { and, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Database, Db } from '../database.ts';
import { type OccurrenceRow, type OccurrenceStatus, occurrences, PROBLEM_STATUSES } from '../schema.ts';

export interface HistoryQuery {
  limit: number;
  /** Only occurrences scheduled before this instant (the next page). */
  before?: Date;
  statuses?: OccurrenceStatus[];
}

/** A schedule's occurrences by name, newest first (history survives the schedule's removal). */
export async function occurrencesOf(db: Db, name: string, query: HistoryQuery): Promise<OccurrenceRow[]> {
  return db
    .select()
    .from(occurrences)
    .where(
      and(
        eq(occurrences.scheduleName, name),
        query.before ? lt(occurrences.scheduledFor, query.before) : undefined,
        query.statuses && query.statuses.length > 0 ? inArray(occurrences.status, query.statuses) : undefined,
      ),
    )
    .orderBy(desc(occurrences.scheduledFor))
    .limit(query.limit);
}

/** Which of these schedules have at least one occurrence (run, missed, anything). */
export async function schedulesWithHistory(database: Database, ids: number[]): Promise<Set<number>> {
  const rows = await database.rows<{ id: string | number }>(
    sql`select distinct schedule_id as id from metronome.occurrences
        where schedule_id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)::bigint)`,
  );
  return new Set(rows.map((r) => Number(r.id)));
}

export interface LatestOccurrenceRow {
  name: string;
  scheduled_for: Date | string;
  status: string;
  manual: boolean;
  task_id: string;
  error: string | null;
}

/** The latest occurrence of each named schedule: one index probe each (occurrences_history_idx). */
export async function latestOccurrenceRows(
  database: Database,
  names: string[],
): Promise<LatestOccurrenceRow[]> {
  return database.rows<LatestOccurrenceRow>(sql`
    select n.name, o.scheduled_for, o.status, o.manual, o.task_id, o.error
      from jsonb_array_elements_text(${JSON.stringify(names)}::jsonb) as n(name)
      cross join lateral (
        select scheduled_for, status, manual, task_id, error from metronome.occurrences o
         where o.schedule_name = n.name order by o.scheduled_for desc limit 1) o`);
}

/**
 * A schedule's occurrences scheduled in [from, to), counted by status and by bucket of `bucketMs`
 * (bucket 0 starts at `from`).
 */
export async function statusCountsByBucket(
  database: Database,
  name: string,
  range: { from: number; to: number; bucketMs: number },
): Promise<{ bucket: number | string; status: string; n: number | string }[]> {
  const { from, to, bucketMs } = range;
  return database.rows<{ bucket: number | string; status: string; n: number | string }>(sql`
    select floor((extract(epoch from scheduled_for) * 1000 - ${from}) / ${bucketMs})::int as bucket,
           status, count(*) as n
      from metronome.occurrences
     where schedule_name = ${name}
       and scheduled_for >= ${new Date(from).toISOString()}::timestamptz
       and scheduled_for < ${new Date(to).toISOString()}::timestamptz
     group by 1, 2`);
}

export interface RunInFlightRow {
  task_id: string;
  schedule_name: string;
  status: string;
  scheduled_for: Date | string;
  enqueued_at: Date | string | null;
  leader_epoch: number | string | null;
}

/**
 * The latest run in flight (enqueued or running) that holds a run lock (a forced run holds none):
 * the schedule's own, or with `group`, that of any schedule of its exclusion group.
 */
export async function runHoldingLock(
  database: Database,
  scheduleId: number,
  group: string | null = null,
): Promise<RunInFlightRow | undefined> {
  const whose =
    group === null
      ? sql`schedule_id = ${scheduleId}`
      : sql`schedule_id in (select id from metronome.schedules where exclusion_group = ${group})`;
  const [row] = await database.rows<RunInFlightRow>(sql`
    select task_id, schedule_name, status, scheduled_for, enqueued_at, leader_epoch from metronome.occurrences
     where ${whose} and status in ('enqueued', 'running') and not force
     order by enqueued_at desc nulls last limit 1`);
  return row;
}

const LAG_SAMPLE = 10_000;

export interface LagRow {
  n: number | string;
  p50: number | string | null;
  p90: number | string | null;
  p99: number | string | null;
  max: number | string | null;
}

/** Enqueue lag percentiles of the last hour's scheduled runs (a sample of at most LAG_SAMPLE). */
export async function lagLastHourRow(database: Database): Promise<LagRow | undefined> {
  const [row] = await database.rows<LagRow>(sql`
    select count(*) as n,
           percentile_cont(0.5) within group (order by lag) as p50,
           percentile_cont(0.9) within group (order by lag) as p90,
           percentile_cont(0.99) within group (order by lag) as p99,
           max(lag) as max
      from (select greatest(0, extract(epoch from enqueued_at - fire_at) * 1000)::float8 as lag
              from metronome.occurrences
             where scheduled_for > clock_timestamp() - interval '1 hour'
               and enqueued_at is not null and not manual
             limit ${LAG_SAMPLE}) s`);
  return row;
}

export type ProblemStatus = (typeof PROBLEM_STATUSES)[number];

/** Problem rows (missed, skipped, failed …) of the last day by status, with the last hour's among them. */
export async function problemCountRows(
  database: Database,
): Promise<{ status: ProblemStatus; hour: number | string; day: number | string }[]> {
  const statuses = sql.raw(PROBLEM_STATUSES.map((s) => `'${s}'`).join(', '));
  return database.rows<{ status: ProblemStatus; hour: number | string; day: number | string }>(sql`
    select status,
           count(*) filter (where scheduled_for > clock_timestamp() - interval '1 hour') as hour,
           count(*) as day
      from metronome.occurrences
     where scheduled_for > clock_timestamp() - interval '1 day' and status in (${statuses})
     group by status`);
}

/** Runs in flight by status, with the oldest claim time of each. */
export async function inFlightRows(
  database: Database,
): Promise<{ status: string; n: number | string; oldest: Date | string | null }[]> {
  return database.rows<{ status: string; n: number | string; oldest: Date | string | null }>(sql`
    select status, count(*) as n, min(claimed_at) as oldest from metronome.occurrences
     where status in ('claimed', 'enqueued', 'running') group by status`);
}
