/**
 * The BullMQ transport against a real Redis and a real BullMQ Worker in this process (the example
 * worker of examples/bullmq-worker.ts, or a plain Worker), isolated by a random BullMQ prefix whose
 * keys are deleted afterwards: one addBulk per queue per batch, jobId = task id, a re-sent occurrence
 * is one job run once, priorities, the run state through the lifecycle, expiry, an unreachable or
 * hung Redis, configuration errors.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { type Job, Worker } from 'bullmq';
import { EXPIRED_REASON_PREFIX as EXAMPLE_EXPIRED, metronomeWorker } from '../../examples/bullmq-worker.ts';
import {
  BullmqTransport,
  bullmqConfigFromEnv,
  EXPIRED_REASON_PREFIX,
  type MetronomeJobData,
  RETENTION,
} from '../../src/transports/bullmq/transport.ts';
import type { EnqueueItem, RunState } from '../../src/transports/transport.ts';
import { TransportConfigError } from '../../src/transports/transport.ts';
import { eventually, sleep } from '../support/beat-process.ts';
import { bullmqPrefixPerFile } from '../support/bullmq.ts';
import { connectTestRedis, freePort, REDIS_URL, RedisServerProcess } from '../support/redis.ts';

let transport: BullmqTransport;
const {
  prefix,
  connection: workerConnection,
  closeAfter,
} = bullmqPrefixPerFile('bullmq', async () => transport?.close());

before(async () => {
  transport = new BullmqTransport({ url: REDIS_URL, prefix, defaultQueue: 'metronome', timeoutMs: 2_000 });
  await eventually('the transport to connect', 5_000, async () => {
    try {
      await transport.status([randomUUID()]);
      return true;
    } catch {
      return false;
    }
  });
});

function plainWorker(
  queue: string,
  processor: (job: Job<MetronomeJobData>) => Promise<unknown>,
  options: { concurrency?: number; autorun?: boolean } = {},
): Worker<MetronomeJobData> {
  const worker = new Worker<MetronomeJobData>(queue, processor, {
    connection: workerConnection(),
    prefix,
    concurrency: options.concurrency ?? 1,
    autorun: options.autorun ?? true,
  });
  worker.on('error', () => {});
  return closeAfter(worker);
}

let slot = Date.parse('2026-01-01T00:00:00Z');
function item(overrides: Partial<EnqueueItem> = {}): EnqueueItem {
  slot += 1_000;
  return {
    taskId: randomUUID(),
    scheduleId: 1,
    scheduleName: 'nightly',
    task: 'tasks.nightly',
    args: [1, 'two'],
    kwargs: { three: 3 },
    queue: null,
    routingKey: null,
    priority: null,
    headers: { tenant: 'acme' },
    expiresAt: null,
    timeLimitS: null,
    softTimeLimitS: null,
    scheduledFor: slot,
    fireAt: slot,
    manual: false,
    ...overrides,
  };
}

async function stateOf(taskId: string, t = transport): Promise<RunState | undefined> {
  return (await t.status([taskId])).get(taskId);
}

describe('enqueue', () => {
  test('one addBulk per queue per batch; jobId = task id; name, data and options', async () => {
    const calls: Array<{ queue: string; jobs: number }> = [];
    for (const name of ['metronome', 'reports']) {
      const queue = transport.queue(name);
      const addBulk = queue.addBulk.bind(queue);
      queue.addBulk = (jobs) => {
        calls.push({ queue: name, jobs: jobs.length });
        return addBulk(jobs);
      };
    }
    const timed = item({ priority: 3, timeLimitS: 30, softTimeLimitS: 20 });
    timed.expiresAt = timed.scheduledFor + 60_000;
    const batch = [timed, item({ queue: 'reports', task: 'reports.daily' }), item({ manual: true })];
    const results = await transport.enqueue(batch);
    assert.deepEqual(
      results,
      batch.map((i) => ({ taskId: i.taskId, ok: true })),
    );
    assert.deepEqual(
      calls.sort((a, b) => a.queue.localeCompare(b.queue)),
      [
        { queue: 'metronome', jobs: 2 },
        { queue: 'reports', jobs: 1 },
      ],
    );
    const [first, second, third] = batch as [EnqueueItem, EnqueueItem, EnqueueItem];
    const job = await transport.queue('metronome').getJob(first.taskId);
    assert.ok(job, 'the job exists under the task id');
    assert.equal(job.id, first.taskId);
    assert.equal(job.name, 'tasks.nightly');
    assert.deepEqual(job.data, {
      args: [1, 'two'],
      kwargs: { three: 3 },
      headers: { tenant: 'acme' },
      schedule: 'nightly',
      scheduledFor: new Date(first.scheduledFor).toISOString(),
      expiresAt: new Date(first.scheduledFor + 60_000).toISOString(),
      timeLimitS: 30,
      softTimeLimitS: 20,
      manual: false,
    });
    assert.equal(job.opts.priority, 4, 'priority 3 → BullMQ 4');
    assert.ok(!job.opts.attempts, 'attempts are not set by us (BullMQ: one attempt)');
    assert.deepEqual(job.opts.removeOnComplete, RETENTION.removeOnComplete);
    assert.deepEqual(job.opts.removeOnFail, RETENTION.removeOnFail);
    const routed = await transport.queue('reports').getJob(second.taskId);
    assert.equal(routed?.name, 'reports.daily');
    assert.equal(routed?.opts.priority, undefined, 'null priority → none');
    assert.equal((await transport.queue('metronome').getJob(third.taskId))?.data.manual, true);
    assert.equal(await transport.queue('metronome').getJob(second.taskId), undefined, 'the item queue wins');
    const states = await transport.status(batch.map((i) => i.taskId));
    assert.deepEqual([...states.values()], ['queued', 'queued', 'queued']);
  });

  test('a re-sent occurrence is one job, run once — also when re-sent after it ran', async () => {
    const runs: string[] = [];
    const queue = 'resend';
    const once = item({ queue });
    assert.deepEqual(await transport.enqueue([once]), [{ taskId: once.taskId, ok: true }]);
    assert.deepEqual(await transport.enqueue([once, once]), [
      { taskId: once.taskId, ok: true },
      { taskId: once.taskId, ok: true },
    ]);
    const counts = await transport.queue(queue).getJobCounts();
    assert.equal(
      Object.values(counts).reduce((a, b) => a + b, 0),
      1,
      JSON.stringify(counts),
    );
    plainWorker(queue, async (job) => {
      runs.push(String(job.id));
    });
    await eventually('the run to succeed', 5_000, async () => (await stateOf(once.taskId)) === 'succeeded');
    // A re-send after the run (a beat that crashed before recording it) finds the completed job.
    assert.deepEqual(await transport.enqueue([once]), [{ taskId: once.taskId, ok: true }]);
    await sleep(500);
    assert.deepEqual(runs, [once.taskId]);
    assert.equal(await stateOf(once.taskId), 'succeeded');
  });

  test('priorities: lower runs first, 0 before 9; no priority before any (BullMQ)', async () => {
    const queue = 'priorities';
    const order: string[] = [];
    const worker = plainWorker(
      queue,
      async (job) => {
        order.push(String(job.data.kwargs.label));
      },
      { autorun: false },
    );
    // Low first, then high, while nothing consumes the queue.
    await transport.enqueue([item({ queue, priority: 9, kwargs: { label: 'p9' } })]);
    await transport.enqueue([item({ queue, priority: 5, kwargs: { label: 'p5' } })]);
    await transport.enqueue([item({ queue, priority: 0, kwargs: { label: 'p0' } })]);
    await transport.enqueue([item({ queue, priority: null, kwargs: { label: 'none' } })]);
    void worker.run();
    await eventually('all four runs', 5_000, () => order.length === 4);
    assert.deepEqual(order, ['none', 'p0', 'p5', 'p9']);
  });
});

describe('status', () => {
  test('queued → active → succeeded; a throwing task → failed; missing → unknown', async () => {
    const queue = 'lifecycle';
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const worker = plainWorker(
      queue,
      async (job) => {
        if (job.name === 'tasks.boom') throw new Error('boom');
        await gate;
      },
      { autorun: false, concurrency: 2 },
    );
    const ok = item({ queue });
    const boom = item({ queue, task: 'tasks.boom' });
    await transport.enqueue([ok, boom]);
    assert.equal(await stateOf(ok.taskId), 'queued');
    void worker.run();
    await eventually('active', 5_000, async () => (await stateOf(ok.taskId)) === 'active');
    await eventually('failed', 5_000, async () => (await stateOf(boom.taskId)) === 'failed');
    release();
    await eventually('succeeded', 5_000, async () => (await stateOf(ok.taskId)) === 'succeeded');
    const missing = randomUUID();
    const states = await transport.status([ok.taskId, boom.taskId, missing]);
    assert.deepEqual(Object.fromEntries(states), {
      [ok.taskId]: 'succeeded',
      [boom.taskId]: 'failed',
      [missing]: 'unknown',
    });
    assert.equal(transport.finishReason(boom.taskId), 'boom', "the job's failedReason goes to the ledger");
    assert.equal(transport.finishReason(ok.taskId), undefined);
  });

  test('the example worker drops an expired run (recorded expired) and runs a fresh one', async () => {
    assert.equal(EXAMPLE_EXPIRED, EXPIRED_REASON_PREFIX, 'the example and the transport agree');
    const queue = 'expiry';
    const ran: string[] = [];
    const worker = metronomeWorker(
      queue,
      {
        'tasks.nightly': async (job) => {
          ran.push(String(job.id));
        },
      },
      { connection: workerConnection(), prefix, onError: () => {} },
    );
    closeAfter(worker);
    const stale = item({ queue, expiresAt: Date.now() - 1_000 });
    const fresh = item({ queue, expiresAt: Date.now() + 60_000 });
    await transport.enqueue([stale, fresh]);
    await eventually('both to finish', 5_000, async () => {
      const s = await transport.status([stale.taskId, fresh.taskId]);
      return s.get(stale.taskId) === 'expired' && s.get(fresh.taskId) === 'succeeded';
    });
    assert.deepEqual(ran, [fresh.taskId]);
  });

  test('the example worker fails a run past its time limit', async () => {
    const queue = 'timelimit';
    const worker = metronomeWorker(
      queue,
      { 'tasks.slow': (_job, signal) => delay(10_000, undefined, { signal }) },
      { connection: workerConnection(), prefix, onError: () => {} },
    );
    closeAfter(worker);
    const slow = item({ queue, task: 'tasks.slow', timeLimitS: 1 });
    await transport.enqueue([slow]);
    await eventually('the time limit', 4_000, async () => (await stateOf(slow.taskId)) === 'failed');
    const job = await transport.queue(queue).getJob(slow.taskId);
    assert.match(String(job?.failedReason), /time limit of 1 s exceeded/);
  });

  test('a new beat (after a failover) finds runs of the default queue; others are unknown until their queue is used', async () => {
    const other = new BullmqTransport({
      url: REDIS_URL,
      prefix,
      defaultQueue: 'metronome',
      timeoutMs: 2_000,
    });
    try {
      await eventually('connect', 5_000, async () => (await other.status([randomUUID()])).size === 1);
      const inDefault = item();
      const inReports = item({ queue: 'reports-adopted' });
      await transport.enqueue([inDefault, inReports]);
      const states = await other.status([inDefault.taskId, inReports.taskId]);
      assert.equal(states.get(inDefault.taskId), 'queued');
      assert.equal(states.get(inReports.taskId), 'unknown', 'the run lease governs it');
      other.queue('reports-adopted');
      assert.equal(await stateOf(inReports.taskId, other), 'queued');
    } finally {
      await other.close();
    }
  });
});

describe('a broker that is down or hung', () => {
  test('unreachable: enqueue fails at once with per-item errors; status throws; nothing crashes', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const down = new BullmqTransport({ url, prefix, defaultQueue: 'metronome', timeoutMs: 2_000 });
    try {
      await sleep(200);
      const batch = [item(), item({ queue: 'other' })];
      const started = Date.now();
      const results = await down.enqueue(batch);
      assert.ok(Date.now() - started < 500, `failed fast (${Date.now() - started} ms)`);
      assert.equal(results.length, 2);
      for (const [i, r] of results.entries()) {
        assert.equal(r.taskId, batch[i]?.taskId);
        assert.equal(r.ok, false);
        assert.match(r.ok ? '' : r.error, new RegExp(`Redis at ${url} is not connected`));
      }
      await assert.rejects(down.status([batch[0]?.taskId as string]), /not connected/);
    } finally {
      await down.close();
    }
  });

  test('hung (SIGSTOP): enqueue gives up after the timeout; once it thaws, the retry adds nothing twice', async () => {
    const server = await RedisServerProcess.start();
    const hung = new BullmqTransport({
      url: server.url,
      prefix,
      defaultQueue: 'metronome',
      timeoutMs: 500,
    });
    const counter = await connectTestRedis(server.url);
    try {
      await eventually('connect', 5_000, async () => (await hung.status([randomUUID()])).size === 1);
      const first = item();
      assert.equal((await hung.enqueue([first]))[0]?.ok, true);
      server.pause();
      const next = item();
      const started = Date.now();
      const [result] = await hung.enqueue([next]);
      const took = Date.now() - started;
      assert.equal(result?.ok, false);
      assert.match(result?.ok ? '' : (result?.error ?? ''), /took longer than 500 ms/);
      assert.ok(took >= 450 && took < 1_500, `gave up after ${took} ms`);
      server.resume();
      // The hung write may have gone through once the server thawed: the retry is then a no-op.
      await eventually('the retry', 5_000, async () => (await hung.enqueue([next]))[0]?.ok === true);
      const counts = await hung.queue('metronome').getJobCounts();
      assert.equal(counts.waiting, 2, JSON.stringify(counts));
    } finally {
      server.resume();
      counter.disconnect();
      await hung.close();
      await server.stop();
    }
  });
});

describe('configuration', () => {
  test('the URL comes from METRONOME_BULLMQ_URL, else REDIS_URL; neither is a clear error', () => {
    assert.throws(
      () => bullmqConfigFromEnv({}),
      (error: unknown) =>
        error instanceof TransportConfigError &&
        /METRONOME_BULLMQ_URL/.test(error.message) &&
        /REDIS_URL/.test(error.message),
    );
    assert.deepEqual(bullmqConfigFromEnv({ REDIS_URL: 'redis://a:6379/1' }), {
      url: 'redis://a:6379/1',
      prefix: 'bull',
      defaultQueue: 'metronome',
      routes: [],
      timeoutMs: 5_000,
    });
    assert.deepEqual(
      bullmqConfigFromEnv({
        REDIS_URL: 'redis://a:6379/1',
        METRONOME_BULLMQ_URL: 'rediss://b:6380/2',
        METRONOME_BULLMQ_PREFIX: 'jobs',
        METRONOME_DEFAULT_QUEUE: 'periodic',
        METRONOME_BULLMQ_TIMEOUT: '2s',
      }),
      { url: 'rediss://b:6380/2', prefix: 'jobs', defaultQueue: 'periodic', routes: [], timeoutMs: 2_000 },
    );
    assert.throws(() => bullmqConfigFromEnv({ REDIS_URL: 'http://x' }), /REDIS_URL.*redis:\/\//);
    assert.throws(
      () => bullmqConfigFromEnv({ REDIS_URL: 'redis://x', METRONOME_DEFAULT_QUEUE: 'a:b' }),
      /cannot contain ":"/,
    );
  });

  test('routing: the item queue, else METRONOME_TASK_ROUTES (as Celery), else the default queue', async () => {
    const config = bullmqConfigFromEnv({
      REDIS_URL,
      METRONOME_BULLMQ_PREFIX: prefix,
      METRONOME_TASK_ROUTES: JSON.stringify({ 'reports.*': 'reports', 'billing.*': { queue: 'billing' } }),
    });
    const routed = new BullmqTransport(config);
    try {
      assert.equal(routed.queueNameFor(item({ task: 'reports.daily' })), 'reports');
      assert.equal(routed.queueNameFor(item({ task: 'billing.run' })), 'billing');
      assert.equal(routed.queueNameFor(item({ task: 'reports.daily', queue: 'mine' })), 'mine');
      assert.equal(routed.queueNameFor(item({ task: 'other' })), 'metronome');
      assert.throws(
        () => bullmqConfigFromEnv({ REDIS_URL, METRONOME_TASK_ROUTES: '{"a.*": "x:y"}' }),
        /METRONOME_TASK_ROUTES "a\.\*": BullMQ queue names cannot contain ":"/,
      );
      assert.throws(
        () => bullmqConfigFromEnv({ REDIS_URL, METRONOME_TASK_ROUTES: '[' }),
        /METRONOME_TASK_ROUTES.*JSON/,
      );
    } finally {
      await routed.close();
    }
  });

  test('a queue name BullMQ refuses fails its items only', async () => {
    const bad = item({ queue: 'a:b' });
    const good = item();
    const results = await transport.enqueue([bad, good]);
    assert.equal(results[0]?.ok, false);
    assert.match(results[0]?.ok ? '' : (results[0]?.error ?? ''), /cannot contain ":"/);
    assert.deepEqual(results[1], { taskId: good.taskId, ok: true });
  });
});
