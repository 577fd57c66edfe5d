/**
 * The Celery transport on a Redis broker, proven with a real Celery 5.2 worker (Debian's
 * python3-celery) and a real beat process, on a private redis-server (broker in DB 0, result backend
 * in DB 1). Everything is asserted from what the worker executed (its record file) and the ledger.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { celeryBeatEnv, startLeadingBeat } from '../support/beat-env.ts';
import { type BeatProcess, eventually, sleep } from '../support/beat-process.ts';
import { addSchedule, disable, ledger, settled } from '../support/celery-schedules.ts';
import { celeryServicesPerFile } from '../support/celery-services.ts';
import { CeleryWorker, duplicates, overlaps, type WorkerRecord } from '../support/celery-worker.ts';

let beat: BeatProcess;
let worker: CeleryWorker | undefined;
let brokerUrl: string;
let backendUrl: string;
let records: string;

const file = celeryServicesPerFile(
  { redisServers: ['server'] },
  async ({ db, redis }) => {
    brokerUrl = `${redis.server.url}/0`;
    backendUrl = `${redis.server.url}/1`;
    const env = celeryBeatEnv(
      db.url,
      { broker: brokerUrl, backend: backendUrl },
      {
        METRONOME_TASK_ROUTES: JSON.stringify({ 'reports.*': 'reports', 'billing.*': { queue: 'billing' } }),
      },
    );
    worker = await CeleryWorker.start({
      broker: brokerUrl,
      backend: backendUrl,
      queues: ['celery', 'reports', 'billing'],
      concurrency: 4,
    });
    records = worker.recordFile;
    beat = await startLeadingBeat(env);
  },
  async () => {
    await beat?.stop();
    await worker?.stop();
  },
);

const startsOf = (all: WorkerRecord[], name: string) =>
  all.filter((r) => r.event === 'start' && r.periodic_task_name === name);

describe('celery on redis, a real worker', () => {
  test('each occurrence runs once with its args, headers, priority, queue, time limit; unknown tasks fail NotRegistered; overlap skip holds', async () => {
    const names = ['plain', 'prio', 'routed', 'own-queue', 'nope', 'limited', 'long'];
    await addSchedule(file.db.sql, {
      name: 'plain',
      task: 'tasks.record',
      everyMs: 1000,
      args: [1, 'two'],
      kwargs: { k: 'v' },
      headers: { tenant: 'acme' },
    });
    await addSchedule(file.db.sql, { name: 'prio', task: 'tasks.record', everyMs: 1000, priority: 7 });
    await addSchedule(file.db.sql, { name: 'routed', task: 'reports.daily', everyMs: 2000 });
    await addSchedule(file.db.sql, {
      name: 'own-queue',
      task: 'reports.daily',
      everyMs: 2000,
      queue: 'billing',
    });
    await addSchedule(file.db.sql, { name: 'nope', task: 'tasks.nope', everyMs: 2000 });
    await addSchedule(file.db.sql, {
      name: 'limited',
      task: 'tasks.record',
      everyMs: 2000,
      kwargs: { sleep: 5 },
      timeLimitS: 1,
    });
    // Outlives its 1 s interval; overlap skip (the default), no run lease set: the run lock is held
    // while the worker reports the run STARTED and freed when SUCCESS is seen.
    await addSchedule(file.db.sql, {
      name: 'long',
      task: 'tasks.record',
      everyMs: 1000,
      kwargs: { sleep: 2.5 },
    });
    await sleep(6_500);
    await disable(file.db.sql, names);
    await settled(file.db.sql, names, 15_000);
    const all = worker?.records() ?? [];

    assert.deepEqual(duplicates(all), [], 'no task id ran twice');
    const started = new Map(all.filter((r) => r.event === 'start').map((r) => [r.id, r]));

    // plain: every enqueued occurrence ran exactly once, with its arguments and headers.
    const plain = await ledger(file.db.sql, 'plain');
    assert.ok(plain.length >= 5, `plain fired ${plain.length} times`);
    for (const row of plain) {
      assert.equal(row.status, 'succeeded', `plain ${row.task_id}: ${row.status} ${row.error}`);
      const run = started.get(row.task_id);
      assert.ok(run, `plain ${row.task_id} ran`);
      assert.deepEqual(run.args, [1, 'two']);
      assert.deepEqual(run.kwargs, { k: 'v' });
      assert.equal(run.tenant, 'acme');
      assert.equal(run.periodic_task_name, 'plain');
      assert.equal(Date.parse(String(run.scheduled_for)), row.scheduled_for.getTime());
      assert.match(String(run.origin), /^metronome@/);
      assert.equal(run.routing_key, 'celery');
      assert.equal(run.priority, 0);
    }
    assert.equal(startsOf(all, 'plain').length, plain.length, 'ran as many times as it fired');

    const prio = startsOf(all, 'prio');
    assert.ok(prio.length >= 5);
    for (const r of prio) assert.equal(r.priority, 7, 'the priority property reaches the worker');

    const routed = startsOf(all, 'routed');
    assert.ok(routed.length >= 2);
    for (const r of routed) assert.equal(r.routing_key, 'reports', 'task_routes: reports.* → reports');
    const own = startsOf(all, 'own-queue');
    assert.ok(own.length >= 2);
    for (const r of own) assert.equal(r.routing_key, 'billing', "the schedule's own queue wins");

    const nope = await ledger(file.db.sql, 'nope');
    assert.ok(nope.length >= 2);
    for (const row of nope) {
      assert.equal(row.status, 'failed');
      assert.match(String(row.error), /NotRegistered/);
    }

    const limited = await ledger(file.db.sql, 'limited');
    assert.ok(limited.length >= 2);
    for (const row of limited) {
      assert.equal(row.status, 'failed', `limited ${row.task_id}: ${row.status}`);
      assert.match(String(row.error), /TimeLimitExceeded/);
      const run = started.get(row.task_id);
      assert.ok(run, 'the time-limited run started');
      assert.deepEqual(run.timelimit, [1, null]);
      assert.ok(!all.some((r) => r.event === 'end' && r.id === row.task_id), 'killed before its end');
    }

    const long = await ledger(file.db.sql, 'long');
    const ran = long.filter((r) => r.status === 'succeeded');
    const skipped = long.filter((r) => r.status === 'skipped_overlap');
    assert.ok(ran.length >= 2, `long ran ${ran.length} times`);
    assert.ok(skipped.length >= 2, `long skipped ${skipped.length} times`);
    assert.equal(startsOf(all, 'long').length, ran.length);
    assert.deepEqual(overlaps(all, 'long'), [], 'never two runs of "long" at once');
  });

  test('an occurrence that expires in the queue is recorded REVOKED → expired and never runs; priority 9 goes to its own list', async () => {
    await worker?.stop();
    worker = undefined;
    await addSchedule(file.db.sql, {
      name: 'expiring',
      task: 'tasks.record',
      everyMs: 1000,
      expiresMs: 1000,
      priority: 9,
      overlap: 'allow',
      runLeaseMs: 30_000,
    });
    const broker = new Redis(brokerUrl);
    try {
      const list = 'celery\x06\x169';
      await eventually('messages in the priority-9 list', 5_000, async () => (await broker.llen(list)) >= 2);
      await sleep(1_200);
      await disable(file.db.sql, ['expiring']);
      await sleep(1_500); // past the expiry of the last one enqueued
      assert.ok(await broker.sismember('_kombu.binding.celery', 'celery\x06\x16\x06\x16celery'));
    } finally {
      broker.disconnect();
    }
    // The worker comes back after the occurrences expired.
    worker = await CeleryWorker.start({
      broker: brokerUrl,
      backend: backendUrl,
      queues: ['celery'],
      recordFile: records,
    });
    await settled(file.db.sql, ['expiring'], 10_000);
    const rows = await ledger(file.db.sql, 'expiring');
    assert.ok(rows.length >= 3, `expiring fired ${rows.length} times`);
    const all = worker.records();
    for (const row of rows) {
      assert.equal(row.status, 'expired', `${row.task_id}: ${row.status}`);
      assert.match(String(row.error), /expired/);
      assert.ok(!all.some((r) => r.id === row.task_id), 'an expired occurrence never runs');
    }
  });

  test('a worker killed mid-run: no second concurrent run before the run lease ends', async () => {
    await worker?.stop();
    // Without task_track_started: a killed worker leaves no STARTED state behind (see docs/transports.md).
    worker = await CeleryWorker.start({
      broker: brokerUrl,
      backend: backendUrl,
      queues: ['celery'],
      recordFile: records,
      trackStarted: false,
    });
    await addSchedule(file.db.sql, {
      name: 'killed',
      task: 'tasks.record',
      everyMs: 1000,
      kwargs: { sleep: 30 },
      runLeaseMs: 5_000,
    });
    // Generous bounds: a loaded machine is slow to dispatch and to start a worker, and nothing
    // asserted below depends on how slow.
    const first = await eventually(
      'the first run to start',
      60_000,
      () => startsOf(worker?.records() ?? [], 'killed')[0],
    );
    worker.kill();
    await worker.exited;
    worker = await CeleryWorker.start({
      broker: brokerUrl,
      backend: backendUrl,
      queues: ['celery'],
      recordFile: records,
      trackStarted: false,
    });
    const second = await eventually(
      'a second run once the lease ended',
      90_000,
      () => startsOf(worker?.records() ?? [], 'killed')[1],
    );
    await disable(file.db.sql, ['killed']);
    const rows = await ledger(file.db.sql, 'killed');
    const firstRow = rows.find((r) => r.task_id === first.id);
    assert.ok(firstRow?.enqueued_at);
    // The lease runs from when the beat took the run lock: after the claim, before the send. Counted
    // from enqueued_at (written after the send) it would end later than the real one by however long
    // the send took, which on a loaded machine is more than the margin.
    const [claim] = await file.db.sql<{ claimed_at: Date }[]>`
      select claimed_at from metronome.occurrences where task_id = ${first.id}`;
    const leaseEnd = claim!.claimed_at.getTime() + 5_000;
    assert.ok(
      second.t * 1000 >= leaseEnd - 50,
      `second run started ${Math.round(leaseEnd - second.t * 1000)} ms before the first run's lease ended`,
    );
    const between = rows.filter(
      (r) =>
        r.scheduled_for.getTime() > firstRow.scheduled_for.getTime() &&
        r.scheduled_for.getTime() < leaseEnd - 1000,
    );
    assert.ok(between.length >= 2);
    // Not run: skipped as overlapping, or (a beat running late on a loaded machine) missed.
    for (const r of between)
      assert.match(r.status, /^(skipped_overlap|missed)$/, `${r.task_id}: ${r.status}`);
    assert.deepEqual(duplicates(worker.records()), []);
  });
});

describe('celery on redis, a worker killed while its run reads STARTED', () => {
  test('with task_track_started and a hard time limit: the run lock is not extended past the limit, the next run goes after it', async () => {
    await worker?.stop();
    worker = await CeleryWorker.start({ broker: brokerUrl, backend: backendUrl, recordFile: records });
    await addSchedule(file.db.sql, {
      name: 'killed-started',
      task: 'tasks.record',
      everyMs: 1000,
      kwargs: { sleep: 30 },
      timeLimitS: 2,
    });
    const first = await eventually(
      'the first run to start',
      5_000,
      () => startsOf(worker?.records() ?? [], 'killed-started')[0],
    );
    await sleep(300); // STARTED is stored
    worker.kill();
    await worker.exited;
    const killedAt = Date.now();
    worker = await CeleryWorker.start({ broker: brokerUrl, backend: backendUrl, recordFile: records });
    const second = await eventually(
      'a second run once the first is presumed dead',
      15_000,
      () => startsOf(worker?.records() ?? [], 'killed-started')[1],
    );
    await disable(file.db.sql, ['killed-started']);
    // STARTED forever, but not past time limit (2 s) + grace (5 s) counted from when the beat saw it.
    assert.ok(second.t * 1000 - first.t * 1000 >= 2_000 + 5_000 - 1_000, 'not before the limit and grace');
    assert.ok(second.t * 1000 - killedAt < 12_000);
    assert.ok(
      beat.hasLog(
        'celery run still STARTED past its hard time limit: its worker probably died; tracked by its run lease',
      ),
    );
    const rows = await ledger(file.db.sql, 'killed-started');
    const between = rows.filter(
      (r) =>
        r.scheduled_for.getTime() > first.t * 1000 && r.scheduled_for.getTime() < second.t * 1000 - 1_500,
    );
    assert.ok(between.length >= 3);
    for (const r of between) assert.equal(r.status, 'skipped_overlap');
    assert.deepEqual(duplicates(worker.records()), []);
  });
});
