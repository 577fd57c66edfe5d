/**
 * The Celery transport on RabbitMQ, proven with a real Celery 5.2 worker in a vhost of the test's own
 * (deleted afterwards); run state from a private Redis result backend.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { celeryBeatEnv, startLeadingBeat } from '../support/beat-env.ts';
import { type BeatProcess, eventually, sleep } from '../support/beat-process.ts';
import { addSchedule, disable, ledger, settled } from '../support/celery-schedules.ts';
import { celeryServicesPerFile } from '../support/celery-services.ts';
import { CeleryWorker, duplicates, type WorkerRecord } from '../support/celery-worker.ts';

let beat: BeatProcess;
let worker: CeleryWorker;

const file = celeryServicesPerFile(
  { redisServers: ['backend'], vhost: true },
  async ({ db, redis: { backend }, vhost }) => {
    const env = celeryBeatEnv(
      db.url,
      { broker: vhost.url, backend: `${backend.url}/0` },
      { METRONOME_TASK_ROUTES: JSON.stringify({ 'reports.*': 'reports' }) },
    );
    // The workers declare their queues with x-max-priority 10 (task_queue_max_priority); the beat
    // checks them passively (the default).
    worker = await CeleryWorker.start({
      broker: vhost.url,
      backend: `${backend.url}/0`,
      queues: ['celery', 'reports'],
      concurrency: 4,
      maxPriority: 10,
    });
    beat = await startLeadingBeat(env);
  },
  async () => {
    await beat?.stop();
    await worker?.stop();
  },
);

const startsOf = (all: WorkerRecord[], name: string) =>
  all.filter((r) => r.event === 'start' && r.periodic_task_name === name);

describe('celery on rabbitmq, a real worker', () => {
  test('each occurrence runs once with its priority property and queue; a missing queue fails the passive check by name', async () => {
    await addSchedule(file.db.sql, {
      name: 'plain',
      task: 'tasks.record',
      everyMs: 1000,
      args: [3],
      headers: { tenant: 'acme' },
      priority: 5,
    });
    await addSchedule(file.db.sql, { name: 'routed', task: 'reports.daily', everyMs: 1000 });
    await addSchedule(file.db.sql, {
      name: 'missing',
      task: 'tasks.record',
      everyMs: 1000,
      queue: 'nowhere',
    });
    await sleep(4_000);
    await disable(file.db.sql, ['plain', 'routed', 'missing']);
    await settled(file.db.sql, ['plain', 'routed'], 10_000);
    const all = worker.records();
    assert.deepEqual(duplicates(all), []);
    const started = new Map(all.filter((r) => r.event === 'start').map((r) => [r.id, r]));

    const plain = await ledger(file.db.sql, 'plain');
    assert.ok(plain.length >= 3, `plain fired ${plain.length} times`);
    for (const row of plain) {
      assert.equal(row.status, 'succeeded');
      const run = started.get(row.task_id);
      assert.ok(run, `${row.task_id} ran`);
      assert.equal(run.priority, 5, 'the AMQP priority property');
      assert.equal(run.tenant, 'acme');
      assert.deepEqual(run.args, [3]);
      assert.equal(run.routing_key, 'celery');
      assert.equal(Date.parse(String(run.scheduled_for)), row.scheduled_for.getTime());
    }
    assert.equal(startsOf(all, 'plain').length, plain.length);
    const routed = startsOf(all, 'routed');
    assert.ok(routed.length >= 3);
    for (const r of routed) assert.equal(r.routing_key, 'reports');

    const missing = await ledger(file.db.sql, 'missing');
    assert.ok(missing.length >= 1);
    // The latest stays claimed (retried with backoff); each earlier one was superseded by the next
    // slot (one unsent run per schedule that may not overlap) and is missed, naming the error.
    const claimed = missing.filter((r) => r.status === 'claimed');
    assert.ok(claimed.length >= 1, 'not enqueued: stays claimed and is retried');
    for (const row of missing) {
      assert.match(row.status, /^(claimed|missed)$/);
      if (row.status === 'missed' || row.error)
        assert.match(String(row.error), /RabbitMQ queue "nowhere" does not exist.*celery worker -Q nowhere/);
    }
    assert.ok(
      beat.logs.some(
        (l) => l.msg === 'enqueue attempt failed; will retry' && /"nowhere"/.test(String(l.error)),
      ),
    );
    await file.db.sql`delete from metronome.schedules where name = 'missing'`;
  });

  test("the server closes the beat's connection: the next batch re-opens it and delivers, nothing doubled", async () => {
    await addSchedule(file.db.sql, { name: 'steady', task: 'tasks.record', everyMs: 1000, overlap: 'allow' });
    await eventually('two runs', 5_000, () => startsOf(worker.records(), 'steady').length >= 2);
    const closedAt = Date.now();
    const closed = await file.vhost.closeConnections('metronome beat');
    assert.equal(closed, 1, "the beat's connection");
    await eventually('the beat to notice', 5_000, () =>
      beat.logs.some((l) => l.receivedAt >= closedAt && /RabbitMQ (connection|channel) closed/.test(l.msg)),
    );
    await eventually('runs after the re-open', 8_000, async () =>
      (await ledger(file.db.sql, 'steady')).some(
        (r) => r.status === 'succeeded' && (r.enqueued_at?.getTime() ?? 0) > closedAt + 1_500,
      ),
    );
    await disable(file.db.sql, ['steady']);
    await settled(file.db.sql, ['steady'], 15_000);
    const rows = await ledger(file.db.sql, 'steady');
    const starts = startsOf(worker.records(), 'steady');
    assert.deepEqual(duplicates(starts), [], 'nothing doubled');
    const ran = new Set(starts.map((r) => r.id));
    for (const row of rows) {
      assert.equal(row.status, 'succeeded', `${row.task_id}: ${row.status} ${row.error}`);
      assert.ok(ran.has(row.task_id));
    }
    assert.equal(starts.length, rows.length);
  });
});
