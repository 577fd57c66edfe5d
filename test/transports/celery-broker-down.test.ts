/**
 * The Redis broker goes away (a redis-server of the test's own, killed) and comes back: occurrences
 * claimed meanwhile stay claimed, the beat retries with backoff, and each is enqueued once when the
 * broker returns. Nothing lost, nothing doubled — checked in the worker's record file and the ledger.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { celeryBeatEnv, startLeadingBeat } from '../support/beat-env.ts';
import { type BeatProcess, eventually, sleep } from '../support/beat-process.ts';
import { addSchedule, disable, ledger, settled } from '../support/celery-schedules.ts';
import { celeryServicesPerFile } from '../support/celery-services.ts';
import { CeleryWorker, duplicates } from '../support/celery-worker.ts';

let beat: BeatProcess | undefined;
let worker: CeleryWorker | undefined;

const file = celeryServicesPerFile({ redisServers: ['broker', 'backend'] }, undefined, async () => {
  await beat?.stop();
  await worker?.stop();
});

test('redis broker down and back: claimed occurrences are retried with backoff and enqueued once', async () => {
  const { broker, backend } = file.redis;
  const env = celeryBeatEnv(file.db.url, { broker: `${broker.url}/0`, backend: `${backend.url}/0` });
  worker = await CeleryWorker.start({
    broker: `${broker.url}/0`,
    backend: `${backend.url}/0`,
    concurrency: 4,
  });
  beat = await startLeadingBeat(env);
  await addSchedule(file.db.sql, { name: 'steady', task: 'tasks.record', everyMs: 1000, overlap: 'allow' });
  await eventually('two runs', 5_000, () => (worker?.starts().length ?? 0) >= 2);

  await broker.stop();
  const downAt = Date.now();
  await beat.waitForLog('enqueue attempt failed; will retry', 5_000, downAt);
  await sleep(3_000);
  const whileDown = await ledger(file.db.sql, 'steady');
  const claimed = whileDown.filter((r) => r.status === 'claimed');
  assert.ok(claimed.length >= 2, `occurrences stay claimed while the broker is down (${claimed.length})`);
  // Every claim that has had an attempt carries its error (one claimed in the tick being read has not
  // been attempted yet).
  const readAt = Date.now();
  for (const r of claimed.filter((row) => new Date(row.scheduled_for).getTime() < readAt - 2_000))
    assert.match(String(r.error), /unreachable|Stream isn't writeable|ECONNREFUSED|Connection/i);

  await broker.start();
  const upAt = Date.now();
  await eventually('the claimed occurrences to run once the broker is back', 20_000, () => {
    const ran = new Set(worker?.starts().map((r) => r.id));
    return claimed.every((r) => ran.has(r.task_id));
  });
  await disable(file.db.sql, ['steady']);
  await settled(file.db.sql, ['steady'], 10_000);

  const rows = await ledger(file.db.sql, 'steady');
  const starts = worker.starts();
  assert.deepEqual(duplicates(starts), [], 'nothing doubled');
  const ran = new Set(starts.map((r) => r.id));
  for (const row of rows) {
    assert.equal(
      row.status,
      'succeeded',
      `${row.task_id} (${row.scheduled_for.toISOString()}): ${row.status}`,
    );
    assert.ok(ran.has(row.task_id), `${row.task_id} ran (nothing lost)`);
  }
  assert.equal(starts.filter((r) => r.periodic_task_name === 'steady').length, rows.length);
  for (const r of claimed) {
    const row = rows.find((x) => x.task_id === r.task_id);
    assert.ok((row?.enqueued_at?.getTime() ?? 0) >= upAt - 1_000, 'enqueued after the broker came back');
  }
});
