/**
 * Exclusion groups (issue 20) with a real beat process, real Redis run locks and a real Celery
 * worker (four pool processes, so the worker alone would run them side by side) whose tasks sleep:
 * schedules naming the same group never run at the same time; a run of another schedule of the
 * group that finds the group held is skipped and recorded (overlap skip), naming the group and the
 * schedule holding it, or waits (buffer_one) and runs once the group is free. `beat show` says which
 * schedule holds the group.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { celeryBeatEnv, startLeadingBeat } from '../support/beat-env.ts';
import { type BeatProcess, eventually } from '../support/beat-process.ts';
import { addSchedule, disable, settled } from '../support/celery-schedules.ts';
import { celeryServicesPerFile } from '../support/celery-services.ts';
import { CeleryWorker, duplicates, type WorkerRecord } from '../support/celery-worker.ts';
import { beat as cli } from '../support/cli.ts';

let beat: BeatProcess;
let worker: CeleryWorker | undefined;

const GROUP = ['backup', 'vacuum', 'reindex'];

const file = celeryServicesPerFile(
  { redisServers: ['server'] },
  async ({ db, redis }) => {
    const broker = `${redis.server.url}/0`;
    const backend = `${redis.server.url}/1`;
    worker = await CeleryWorker.start({ broker, backend, concurrency: 4 });
    // Schedules first, so the beat's first tick sees the whole group.
    await addSchedule(db.sql, {
      name: 'backup',
      task: 'tasks.record',
      everyMs: 4000,
      kwargs: { sleep: 2.5 },
    });
    await addSchedule(db.sql, {
      name: 'vacuum',
      task: 'tasks.record',
      everyMs: 1000,
      kwargs: { sleep: 0.3 },
    });
    await addSchedule(db.sql, {
      name: 'reindex',
      task: 'tasks.record',
      everyMs: 3000,
      kwargs: { sleep: 0.5 },
      overlap: 'buffer_one',
    });
    await addSchedule(db.sql, { name: 'apart', task: 'tasks.record', everyMs: 1000, kwargs: { sleep: 1.5 } });
    await db.sql`update metronome.schedules set exclusion_group = 'nightly-db' where name in ${db.sql(GROUP)}`;
    beat = await startLeadingBeat(
      celeryBeatEnv(db.url, { broker, backend }, { REDIS_URL: `${redis.server.url}/2` }),
    );
  },
  async () => {
    await beat?.stop();
    await worker?.stop();
  },
);

/** Pairs of runs of these schedules that overlapped in time on the worker. */
function overlapsIn(records: WorkerRecord[], schedules: string[]): string[] {
  const ends = new Map(records.filter((r) => r.event === 'end').map((r) => [r.id, r.t]));
  const runs = records
    .filter((r) => r.event === 'start' && schedules.includes(String(r.periodic_task_name)))
    .map((r) => ({ id: r.id, name: r.periodic_task_name, start: r.t, end: ends.get(r.id) ?? Infinity }))
    .sort((a, b) => a.start - b.start);
  const out: string[] = [];
  for (let i = 1; i < runs.length; i++) {
    const [prev, cur] = [runs[i - 1]!, runs[i]!];
    if (cur.start < prev.end) out.push(`${prev.name} ${prev.id} / ${cur.name} ${cur.id}`);
  }
  return out;
}

describe('exclusion groups', () => {
  test('no two runs of a group overlap; a group-mate is skipped or buffered as its overlap policy says; beat show names the holder', async () => {
    const { sql } = file.db;
    // While backup runs (2.5 s), beat show of a group-mate names it as the holder.
    const shown = await eventually('beat show to name backup as the holder', 15_000, async () => {
      const out = await cli(['show', 'vacuum'], { DATABASE_URL: file.db.url });
      return /exclusion group\s+nightly-db \(held by "backup": run [0-9a-f-]+, (enqueued|running)\)/.test(
        out.stdout,
      )
        ? out.stdout
        : undefined;
    });
    assert.match(shown, /exclusion group\s+nightly-db/);
    await eventually('each schedule of the group to run and a group-mate to be skipped', 30_000, async () => {
      const rows = await sql<{ schedule_name: string; status: string; n: number }[]>`
        select schedule_name, status, count(*)::int as n from metronome.occurrences group by 1, 2`;
      const count = (name: string, status: string) =>
        rows.find((r) => r.schedule_name === name && r.status === status)?.n ?? 0;
      return (
        GROUP.every((name) => count(name, 'succeeded') >= 1) &&
        count('vacuum', 'skipped_overlap') >= 2 &&
        count('reindex', 'succeeded') >= 2
      );
    });
    await disable(sql, [...GROUP, 'apart']);
    await settled(sql, [...GROUP, 'apart'], 20_000);
    const all = worker?.records() ?? [];
    assert.deepEqual(duplicates(all), [], 'no task id ran twice');
    assert.deepEqual(overlapsIn(all, GROUP), [], 'no two runs of the group overlapped');
    assert.ok(
      overlapsIn(all, ['apart', 'backup']).length > 0,
      'a schedule outside the group is not held back',
    );

    const [skipped] = await sql<{ error: string }[]>`
      select error from metronome.occurrences
      where schedule_name = 'vacuum' and status = 'skipped_overlap' and error like '%"backup"%' limit 1`;
    assert.equal(
      skipped?.error,
      'exclusion group "nightly-db" is held by a run of "backup" (overlap: skip)',
      'the skip names the group and the schedule holding it',
    );
    // buffer_one: a reindex run that found the group held waited, and ran after it was freed.
    const waited = await sql<{ n: number }[]>`
      select count(*)::int as n from metronome.occurrences
      where schedule_name = 'reindex' and status = 'succeeded' and enqueued_at - fire_at > interval '300 milliseconds'`;
    assert.ok((waited[0]?.n ?? 0) >= 1, 'a buffered reindex run went once the group was free');
  });
});

describe('backfill with a real Celery worker', () => {
  test('a skip schedule whose runs outlive the pace: every slot runs, one at a time, none skipped', async () => {
    const { sql } = file.db;
    await addSchedule(sql, {
      name: 'slowfill',
      task: 'tasks.record',
      everyMs: 60_000,
      kwargs: { sleep: 2 },
    });
    const base = Math.floor(Date.now() / 60_000) * 60_000;
    const from = new Date(base - 7 * 60_000).toISOString();
    const to = new Date(base - 2 * 60_000).toISOString();
    const run = await cli(['backfill', 'slowfill', '--from', from, '--to', to, '--rate', '20/s'], {
      DATABASE_URL: file.db.url,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /slowfill: 6 slots .* 6 to send at 20\/s/);
    const rows = await eventually('the six backfilled runs to succeed', 30_000, async () => {
      const found = await sql<{ status: string; error: string | null }[]>`
        select status, error from metronome.occurrences where schedule_name = 'slowfill' and backfill_id is not null`;
      return found.length === 6 && found.every((r) => r.status === 'succeeded') ? found : undefined;
    });
    assert.equal(rows.length, 6);
    const all = worker?.records() ?? [];
    assert.deepEqual(duplicates(all), []);
    assert.deepEqual(overlapsIn(all, ['slowfill']), [], 'one run at a time (overlap skip)');
    const show = await cli(['show', 'slowfill'], { DATABASE_URL: file.db.url });
    assert.match(show.stdout, /Backfills:\n.*\n\s*\d+\s+\S+\s+\S+\s+6\s+6\s+0\s+done/);
  });
});
