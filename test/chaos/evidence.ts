/**
 * What the checks read at the end of a run: the ledger (every occurrence row), the beats' log lines
 * (pino JSON, one file per beat process) and the workers' records.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import type postgres from 'postgres';

export interface LedgerRow {
  scheduleId: number;
  schedule: string;
  /** Epoch ms. */
  scheduledFor: number;
  taskId: string;
  status: string;
  error: string | null;
  manual: boolean;
  epoch: number | null;
  claimedAt: number;
  enqueuedAt: number | null;
  finishedAt: number | null;
  /** The backfill that claimed the slot (null: the schedule's own time; absent in old evidence). */
  backfillId?: number | null;
}

export async function readLedger(sql: postgres.Sql): Promise<LedgerRow[]> {
  const ms = (column: string) => sql.unsafe(`(extract(epoch from ${column}) * 1000)::float8`);
  const rows = await sql<
    {
      schedule_id: string;
      schedule_name: string;
      sf: number;
      task_id: string;
      status: string;
      error: string | null;
      manual: boolean;
      leader_epoch: string | null;
      ca: number;
      ea: number | null;
      fa: number | null;
      backfill_id: string | null;
    }[]
  >`select schedule_id, schedule_name, ${ms('scheduled_for')} as sf, task_id, status, error, manual,
           leader_epoch, ${ms('claimed_at')} as ca, ${ms('enqueued_at')} as ea, ${ms('finished_at')} as fa,
           backfill_id
    from metronome.occurrences order by schedule_id, scheduled_for`;
  return rows.map((r) => ({
    scheduleId: Number(r.schedule_id),
    schedule: r.schedule_name,
    scheduledFor: Math.round(Number(r.sf)),
    taskId: r.task_id,
    status: r.status,
    error: r.error,
    manual: r.manual,
    epoch: r.leader_epoch === null ? null : Number(r.leader_epoch),
    claimedAt: Number(r.ca),
    enqueuedAt: r.ea === null ? null : Number(r.ea),
    finishedAt: r.fa === null ? null : Number(r.fa),
    backfillId: r.backfill_id === null ? null : Number(r.backfill_id),
  }));
}

/** A backfill request as the run left it (metronome.backfills). */
export interface BackfillState {
  id: number;
  scheduleId: number;
  schedule: string;
  status: string;
  error: string | null;
  slots: number;
  claimed: number;
  already: number;
}

export async function readBackfills(sql: postgres.Sql): Promise<BackfillState[]> {
  const rows = await sql<
    {
      id: string;
      schedule_id: string;
      schedule_name: string;
      status: string;
      error: string | null;
      slots: number;
      claimed: number;
      already: number;
    }[]
  >`select id, schedule_id, schedule_name, status, error, slots, claimed, already
    from metronome.backfills order by id`;
  return rows.map((r) => ({
    id: Number(r.id),
    scheduleId: Number(r.schedule_id),
    schedule: r.schedule_name,
    status: r.status,
    error: r.error,
    slots: Number(r.slots),
    claimed: Number(r.claimed),
    already: Number(r.already),
  }));
}

/** Each live schedule's skip count left (`beat skip`), by id. */
export async function readSkipsLeft(sql: postgres.Sql): Promise<Map<number, number>> {
  const rows = await sql<{ id: string; n: number }[]>`select id, skip_count as n from metronome.schedules`;
  return new Map(rows.map((r) => [Number(r.id), Number(r.n)]));
}

/** Each schedule's next_fire_at (epoch ms, null when it has none), by id. */
export async function readCursors(sql: postgres.Sql): Promise<Map<number, number | null>> {
  const rows = await sql<{ id: string; ms: number | null }[]>`
    select id, (extract(epoch from next_fire_at) * 1000)::float8 as ms from metronome.schedules`;
  return new Map(rows.map((r) => [Number(r.id), r.ms === null ? null : Math.round(Number(r.ms))]));
}

/**
 * Task ids the broker still holds: waiting in the `celery` list (kombu envelopes, `headers.id`), or
 * in the `unacked` hash ([envelope, exchange, routing key]) — taken by a worker that was killed
 * before it ran them, which kombu puts back in the queue once its visibility timeout (1 h) is over.
 * Either way the runs are in flight, not lost (the leader's locate finds them there too).
 */
export async function readQueued(brokerUrl: string): Promise<string[]> {
  const client = new Redis(brokerUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  try {
    await client.connect();
    const waiting = await client.lrange('celery', 0, -1);
    const taken = (await client.hvals('unacked')).map((raw) => {
      const held = parsed(raw);
      return Array.isArray(held) ? held[0] : undefined;
    });
    return [...waiting.map(parsed), ...taken].flatMap((envelope) => {
      const id = (envelope as { headers?: { id?: unknown } } | undefined)?.headers?.id;
      return typeof id === 'string' ? [id] : [];
    });
  } finally {
    client.disconnect();
  }
}

function parsed(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

export interface BeatLog {
  /** Epoch ms (pino's time). */
  t: number;
  /** `beat-<slot>.<incarnation>`. */
  beat: string;
  msg: string;
  level: number;
  epoch?: number;
  taskId?: string;
  schedule?: string;
  error?: string;
  reason?: string;
  /** The line as written (cut at 600 characters), to cite in the report. */
  line: string;
}

export function readBeatLogs(files: string[]): BeatLog[] {
  const out: BeatLog[] = [];
  for (const file of files) {
    const beat = path.basename(file, '.log');
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const v = JSON.parse(line) as Record<string, unknown>;
        out.push({
          t: Date.parse(String(v.time)),
          beat,
          msg: String(v.msg ?? ''),
          level: Number(v.level ?? 0),
          epoch: typeof v.epoch === 'number' ? v.epoch : undefined,
          taskId: typeof v.taskId === 'string' ? v.taskId : undefined,
          schedule: typeof v.schedule === 'string' ? v.schedule : undefined,
          error: typeof v.error === 'string' ? v.error : errMessage(v.err),
          reason: typeof v.reason === 'string' ? v.reason : undefined,
          line: line.length > 600 ? `${line.slice(0, 600)}…` : line,
        });
      } catch {
        // a line cut by kill -9
      }
    }
  }
  return out.sort((a, b) => a.t - b.t);
}

function errMessage(err: unknown): string | undefined {
  if (typeof err === 'string') return err;
  if (err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string')
    return (err as { message: string }).message;
  return undefined;
}
