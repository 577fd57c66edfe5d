/** Schedules and ledger rows for the Celery transport tests (rows inserted as the `db` manager). */
import type postgres from 'postgres';
import { eventually } from './beat-process.ts';

export interface TestSchedule {
  name: string;
  task: string;
  everyMs: number;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  queue?: string | null;
  priority?: number | null;
  headers?: Record<string, unknown>;
  expiresMs?: number | null;
  timeLimitS?: number | null;
  overlap?: 'skip' | 'allow' | 'buffer_one';
  runLeaseMs?: number | null;
}

export async function addSchedule(sql: postgres.Sql, s: TestSchedule): Promise<void> {
  await sql`insert into metronome.schedules
    (name, task, kind, every_ms, args, kwargs, queue, priority, headers, expires_ms, time_limit_s, overlap,
     run_lease_ms, managed_by)
    values (${s.name}, ${s.task}, 'interval', ${s.everyMs}, ${sql.json((s.args ?? []) as postgres.JSONValue)},
            ${sql.json((s.kwargs ?? {}) as postgres.JSONValue)}, ${s.queue ?? null}, ${s.priority ?? null},
            ${sql.json((s.headers ?? {}) as postgres.JSONValue)}, ${s.expiresMs ?? null}, ${s.timeLimitS ?? null},
            ${s.overlap ?? 'skip'}, ${s.runLeaseMs ?? null}, 'db')`;
}

export async function disable(sql: postgres.Sql, names: string[]): Promise<void> {
  await sql`update metronome.schedules set enabled = false where name in ${sql(names)}`;
}

export interface LedgerRow {
  task_id: string;
  schedule_name: string;
  status: string;
  error: string | null;
  scheduled_for: Date;
  enqueued_at: Date | null;
  finished_at: Date | null;
}

/**
 * The schedule's occurrences up to the test's disable. The claims the disable took back (made ahead
 * of their instant, recorded missed and never sent: docs/runtime.md, "Claim ahead") are left out;
 * test/beat/claim-ahead.test.ts is where taking back is tested.
 */
export async function ledger(sql: postgres.Sql, name: string): Promise<LedgerRow[]> {
  return sql<LedgerRow[]>`
    select task_id, schedule_name, status, error, scheduled_for, enqueued_at, finished_at
    from metronome.occurrences
    where schedule_name = ${name} and not (status = 'missed' and error like ${TAKEN_BACK})
    order by scheduled_for`;
}

/** The reason of a claim a change took back before its instant (src/beat/claimed-ahead.ts). */
export const TAKEN_BACK = 'taken back:%';

/** Wait until no occurrence of these schedules is claimed, enqueued, running or buffered. */
export async function settled(sql: postgres.Sql, names: string[], timeoutMs: number): Promise<void> {
  await eventually(`the runs of ${names.join(', ')} to finish`, timeoutMs, async () => {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from metronome.occurrences
      where schedule_name in ${sql(names)} and status in ('claimed', 'enqueued', 'running', 'buffered')`;
    return row?.n === 0;
  });
}
