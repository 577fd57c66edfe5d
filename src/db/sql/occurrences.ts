/**
 * Every write to the ledger, `metronome.occurrences`, and the reads the runtime and operate/ make of
 * it: one home for the table's statements (the shape of graphile-worker's src/sql/).
 * - The claim's insert (`insertOccurrences`, in the claim's transaction: src/beat/claim.ts).
 * - The ledger's writes after the claim, by the leader of one term (`Ledger`): status changes (one
 *   statement per batch, never per row), adoption of what earlier terms left unfinished, and the
 *   sweep for claims nobody is sending. Every status write goes through the lifecycle
 *   (src/db/lifecycle.ts).
 * - Claims given back at a clean stop (`releaseClaims`), claims an operator's skip takes back
 *   (`skipClaims`), manual runs (`insertManualOccurrence`),
 *   one run's status (`occurrenceStatus`), and retention (`pruneOccurrences`).
 *
 * Ownership fences every write: an occurrence belongs to the term whose epoch is in its
 * `leader_epoch`. A term writes only rows it owns, and takes over rows of earlier terms (or of
 * `beat trigger`, which owns none) only while its lease is valid. So a leader that was paused past
 * its lease can never overwrite what the next leader recorded — its writes match no row.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { skippedBecause } from '../../model/plan.ts';
import { TRIGGER_CHANNEL } from '../channels.ts';
import type { Database, Db } from '../database.ts';
import { FINISHED_STATUSES, mayFollow, transition } from '../lifecycle.ts';
import type { OccurrenceStatus } from '../schema.ts';
import { checkLease, type Fence, leaseIsOurs } from './leader.ts';
import { markBookkeeping } from './schedules.ts';

export interface NewOccurrence {
  scheduleId: number;
  scheduleName: string;
  scheduledFor: number;
  fireAt: number;
  taskId: string;
  status: Extract<OccurrenceStatus, 'claimed' | 'missed' | 'skipped'>;
  error: string | null;
  manual: boolean;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * Insert claimed, missed and skipped occurrences in the caller's transaction `tx`. Returns the task ids
 * inserted: a slot already claimed is not (its unique key makes a double claim impossible).
 */
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
                 ${epoch}::bigint, o.error, case when o.status in ('missed', 'skipped') then clock_timestamp() end
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

/** `(select ...)` of a list passed as one JSON parameter (a fixed parameter count for any batch size). */
function list(values: readonly string[]) {
  return sql`(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`;
}

export interface UnfinishedOccurrence {
  taskId: string;
  scheduleId: number;
  scheduledFor: number;
  fireAt: number;
  status: OccurrenceStatus;
  manual: boolean;
  force: boolean;
  enqueuedAt: number | null;
  /** Claimed by a backfill (src/db/sql/backfills.ts). */
  backfill: boolean;
}

interface UnfinishedRow {
  task_id: string;
  schedule_id: string | number;
  scheduled_for: string | Date;
  fire_at: string | Date;
  status: OccurrenceStatus;
  manual: boolean;
  force: boolean;
  enqueued_at: string | Date | null;
  backfill_id: string | number | null;
}

function fromRow(r: UnfinishedRow): UnfinishedOccurrence {
  return {
    taskId: r.task_id,
    scheduleId: Number(r.schedule_id),
    scheduledFor: new Date(r.scheduled_for).getTime(),
    fireAt: new Date(r.fire_at).getTime(),
    status: r.status,
    manual: r.manual,
    force: r.force,
    enqueuedAt: r.enqueued_at === null ? null : new Date(r.enqueued_at).getTime(),
    backfill: r.backfill_id !== null,
  };
}

/** The ledger's writes of one term, fenced by its epoch (see the header). */
export class Ledger {
  constructor(
    private readonly database: Database,
    private readonly fence: Fence,
  ) {}

  /**
   * Move occurrences this term owns to `status`, only from the statuses given (so a late update never
   * goes backwards). Returns the task ids actually moved.
   */
  async setStatus(
    taskIds: readonly string[],
    status: OccurrenceStatus,
    from: readonly OccurrenceStatus[],
    error: string | null = null,
  ): Promise<string[]> {
    if (taskIds.length === 0) return [];
    transition(status, from);
    const finished = FINISHED_STATUSES.has(status) ? sql`clock_timestamp()` : sql`finished_at`;
    // A run that finished on enqueue (the log transport) goes from claimed to succeeded in one write.
    const enqueued =
      status === 'enqueued' || (status === 'succeeded' && from.includes('claimed'))
        ? sql`clock_timestamp()`
        : sql`enqueued_at`;
    // When a run was first seen started: deadlines judge the start by it (src/model/deadline.ts).
    const started = status === 'running' ? sql`coalesce(started_at, clock_timestamp())` : sql`started_at`;
    const rows = await this.database.rows<{ task_id: string }>(
      sql`update metronome.occurrences
          set status = ${status}, error = ${error}, finished_at = ${finished}, enqueued_at = ${enqueued},
              started_at = ${started}
          where task_id in ${list(taskIds)} and status in ${list(from)} and leader_epoch = ${this.fence.epoch}
          returning task_id`,
    );
    return rows.map((r) => r.task_id);
  }

  /** Note why an attempt failed; the occurrence stays claimed and is retried. */
  async noteAttemptError(taskIds: readonly string[], error: string): Promise<void> {
    if (taskIds.length === 0) return;
    await this.database.rows(
      sql`update metronome.occurrences set error = ${error}
          where task_id in ${list(taskIds)} and status = 'claimed' and leader_epoch = ${this.fence.epoch}`,
    );
  }

  /**
   * Take over what earlier terms (and `beat trigger`) left unfinished: runs enqueued within
   * `followMs` whose end was not seen (older ones are closed as `lease_ended`: nobody can follow them
   * any more), and — with `claims` — claimed and buffered occurrences. Only while the lease is ours.
   * Following runs sends nothing, so it is always safe at once; claims wait when the previous holder
   * may still be sending them (see TermOptions.earlierTermsAfter).
   */
  async adoptUnfinished(followMs: number, options: { claims: boolean }): Promise<UnfinishedOccurrence[]> {
    const statuses = options.claims
      ? sql`('claimed', 'buffered', 'enqueued', 'running')`
      : sql`('enqueued', 'running')`;
    await this.database.rows(sql`
      update metronome.occurrences
      set status = 'lease_ended', finished_at = clock_timestamp(), leader_epoch = ${this.fence.epoch},
          error = 'no finish seen: enqueued by an earlier leader longer ago than it can be followed'
      where status in ${list(mayFollow('lease_ended'))}
        and enqueued_at <= clock_timestamp() - ${followMs} * interval '1 millisecond'
        and (leader_epoch is null or leader_epoch < ${this.fence.epoch}) and ${leaseIsOurs(this.fence)}`);
    const rows = await this.database.rows<UnfinishedRow>(sql`
      update metronome.occurrences
      set leader_epoch = ${this.fence.epoch}
      where status in ${statuses}
        and (leader_epoch is null or leader_epoch < ${this.fence.epoch}) and ${leaseIsOurs(this.fence)}
      returning task_id, schedule_id, scheduled_for, fire_at, status, manual, force, enqueued_at, backfill_id`);
    return rows.map(fromRow).sort((a, b) => a.fireAt - b.fireAt);
  }

  /** Schedules with occurrences an earlier term claimed or buffered and nobody has taken over. */
  async schedulesWithEarlierClaims(): Promise<number[]> {
    const rows = await this.database.rows<{ schedule_id: number }>(sql`
      select distinct schedule_id from metronome.occurrences
      where status in ('claimed', 'buffered') and leader_epoch < ${this.fence.epoch}`);
    return rows.map((r) => Number(r.schedule_id));
  }

  /**
   * Claimed occurrences that this term is not sending: manual runs from `beat trigger`, and claims
   * whose sender lost track of them (a COMMIT whose reply was lost, a batch dropped at the fence).
   * They are taken over and returned for sending with their task ids; `known` are the task ids the
   * term already has in hand. Claims younger than `minAgeMs` are left to whoever is inserting them.
   */
  async strandedClaims(
    known: ReadonlySet<string>,
    minAgeMs: number,
    options: { earlierTerms: boolean } = { earlierTerms: true },
  ): Promise<UnfinishedOccurrence[]> {
    const old = sql`(manual or claimed_at <= clock_timestamp() - ${minAgeMs} * interval '1 millisecond')`;
    // Before earlier terms may be taken over, only unowned rows (manual runs nobody picked up).
    const owners = options.earlierTerms
      ? sql`(leader_epoch is null or leader_epoch < ${this.fence.epoch})`
      : sql`leader_epoch is null`;
    // Rows of earlier terms or of `beat trigger` are taken over; this term's own are only read
    // (rewriting them on every sweep would churn rows the dispatcher is busy retrying).
    const taken = await this.database.rows<UnfinishedRow>(sql`
      update metronome.occurrences
      set leader_epoch = ${this.fence.epoch}
      where status = 'claimed' and ${old} and ${owners} and ${leaseIsOurs(this.fence)}
      returning task_id, schedule_id, scheduled_for, fire_at, status, manual, force, enqueued_at, backfill_id`);
    const own = await this.database.rows<UnfinishedRow>(sql`
      select task_id, schedule_id, scheduled_for, fire_at, status, manual, force, enqueued_at, backfill_id
      from metronome.occurrences
      where status = 'claimed' and ${old} and leader_epoch = ${this.fence.epoch}`);
    return [...taken, ...own]
      .map(fromRow)
      .filter((o) => !known.has(o.taskId))
      .sort((a, b) => a.fireAt - b.fireAt);
  }
}

/**
 * Give back claims made ahead of their instant and never sent (a term that ends cleanly, still
 * holding its lease): their rows are deleted and each schedule's cursor goes back to the first slot
 * given back (and its run count down), in one transaction fenced like the claim, so the next leader
 * claims those slots afresh — as if they had never been claimed. Only rows of schedules still at
 * the version the claim saw are given back; the rest stay claimed for the next leader to take over
 * (it sends them at their instant, or records why not). Returns how many were given back.
 */
export async function releaseClaims(
  database: Database,
  fence: Fence,
  claims: ReadonlyArray<{ taskId: string; scheduleId: number; version: number }>,
): Promise<number> {
  if (claims.length === 0) return 0;
  const batch = JSON.stringify(
    claims.map((c) => ({ task_id: c.taskId, schedule_id: c.scheduleId, version: c.version })),
  );
  return database.db.transaction(async (tx) => {
    await markBookkeeping(database, tx);
    const rows = await database.rows<{ n: number }>(
      sql`with v as (
            select * from jsonb_to_recordset(${batch}::jsonb) as v(task_id text, schedule_id bigint, version bigint)),
          released as (
            delete from metronome.occurrences o using v, metronome.schedules s
            where o.task_id = v.task_id and o.status = 'claimed' and not o.manual and o.backfill_id is null
              and o.leader_epoch = ${fence.epoch} and s.id = v.schedule_id and s.version = v.version
            returning o.schedule_id, o.scheduled_for),
          per as (
            select schedule_id, min(scheduled_for) as first, count(*)::int as n from released group by schedule_id),
          rewound as (
            update metronome.schedules s
            set next_fire_at = case when s.next_fire_at is null or s.next_fire_at > per.first
                                    then per.first else s.next_fire_at end,
                total_runs = greatest(0, s.total_runs - per.n)
            from per where s.id = per.schedule_id
            returning per.n)
          select coalesce(sum(n), 0)::int as n from rewound`,
      tx,
    );
    await checkLease(database, tx, fence);
    return Number(rows[0]?.n ?? 0);
  });
}

/**
 * Claims held for their instant that an operator's skip (`beat skip`) names: in one transaction,
 * fenced like the claim, they go from `claimed` to `skipped` with the operator's reason and the
 * schedule's skip count goes down by as many (a bookkeeping write: no version bump). The schedule's
 * row is locked first and at most its skip count is taken, so a skip cleared or lowered meanwhile
 * takes none or fewer; the claims not taken stay held and go at their instant. Returns the task ids
 * recorded skipped.
 */
export async function skipClaims(
  database: Database,
  fence: Fence,
  scheduleId: number,
  taskIds: readonly string[],
): Promise<string[]> {
  if (taskIds.length === 0) return [];
  const from = transition('skipped', ['claimed']);
  return database.db.transaction(async (tx) => {
    const [row] = await database.rows<{ skip_count: number; skip_reason: string | null }>(
      sql`select skip_count, skip_reason from metronome.schedules where id = ${scheduleId} for update`,
      tx,
    );
    const allowed = Math.min(Number(row?.skip_count ?? 0), taskIds.length);
    if (allowed === 0) return [];
    const rows = await database.rows<{ task_id: string }>(
      sql`update metronome.occurrences
          set status = 'skipped', error = ${skippedBecause(row?.skip_reason ?? null)}, finished_at = clock_timestamp()
          where task_id in ${list(taskIds.slice(0, allowed))} and status in ${list(from)} and not manual
            and leader_epoch = ${fence.epoch}
          returning task_id`,
      tx,
    );
    await markBookkeeping(database, tx);
    await database.rows(
      sql`update metronome.schedules
          set skip_count = skip_count - ${rows.length},
              skip_reason = case when skip_count - ${rows.length} > 0 then skip_reason end
          where id = ${scheduleId}`,
      tx,
    );
    await checkLease(database, tx, fence);
    return rows.map((r) => r.task_id);
  });
}

/**
 * A manual run (`beat trigger`): an occurrence claimed now, by no leader, for the leader to pick up
 * through the same dispatch path as a scheduled one; the leader is told with a notification. Its task
 * id is random: every trigger is a run of its own, and it never takes the key of a scheduled slot
 * (scheduled slots are unique per schedule and instant; manual runs are not). In the caller's
 * transaction `on` when given (an operator action records itself in the same one).
 */
export async function insertManualOccurrence(
  database: Database,
  schedule: { id: number; name: string },
  force: boolean,
  on?: Db,
): Promise<{ taskId: string; scheduledFor: number }> {
  const run = on ? <T>(fn: (tx: Db) => Promise<T>) => fn(on) : database.db.transaction.bind(database.db);
  return run(async (tx) => {
    const taskId = randomUUID();
    const [row] = await database.rows<{ ms: number | string }>(
      sql`with now as (select date_trunc('milliseconds', clock_timestamp()) as at)
          insert into metronome.occurrences
            (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status, manual, force)
          select ${schedule.id}, ${schedule.name}, now.at, now.at, ${taskId}, 'claimed', true, ${force} from now
          returning (extract(epoch from scheduled_for) * 1000)::float8 as ms`,
      tx,
    );
    await database.rows(sql`select pg_notify(${TRIGGER_CHANNEL}, ${taskId})`, tx);
    return { taskId, scheduledFor: Number(row?.ms) };
  });
}

/** The status and error of one occurrence, by task id. */
export async function occurrenceStatus(
  database: Database,
  taskId: string,
): Promise<{ status: OccurrenceStatus; error: string | null } | null> {
  const [row] = await database.rows<{ status: OccurrenceStatus; error: string | null }>(
    sql`select status, error from metronome.occurrences where task_id = ${taskId}`,
  );
  return row ?? null;
}

const PRUNE_BATCH = 10_000;
const FINISHED = sql`status not in ('claimed', 'enqueued', 'running', 'buffered')`;

export interface PruneResult {
  byAge: number;
  byCount: number;
}

/**
 * Keeping the ledger bounded: finished occurrences older than the retention age are deleted, and a
 * schedule keeps at most `perSchedule` finished rows. Runs on the leader, in bounded batches (so a
 * first prune of a huge table does not hold long locks), never touching unfinished rows.
 */
export async function pruneOccurrences(
  database: Database,
  options: { maxAgeMs: number; perSchedule: number; maxBatches?: number },
): Promise<PruneResult> {
  const maxBatches = options.maxBatches ?? 20;
  const result: PruneResult = { byAge: 0, byCount: 0 };
  for (let i = 0; i < maxBatches; i++) {
    const rows = await database.rows(sql`
      delete from metronome.occurrences o
      using (select task_id from metronome.occurrences
             where scheduled_for < clock_timestamp() - ${options.maxAgeMs} * interval '1 millisecond' and ${FINISHED}
             limit ${PRUNE_BATCH}) d
      where o.task_id = d.task_id
      returning 1`);
    result.byAge += rows.length;
    if (rows.length < PRUNE_BATCH) break;
  }
  for (let i = 0; i < maxBatches; i++) {
    const rows = await database.rows(sql`
      delete from metronome.occurrences o
      using (select task_id from (
               select task_id, row_number() over (partition by schedule_id order by scheduled_for desc) as n
               from metronome.occurrences where ${FINISHED}) ranked
             where n > ${options.perSchedule} limit ${PRUNE_BATCH}) d
      where o.task_id = d.task_id
      returning 1`);
    result.byCount += rows.length;
    if (rows.length < PRUNE_BATCH) break;
  }
  return result;
}
