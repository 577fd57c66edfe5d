/**
 * End to end on BullMQ: a real `beat run` (METRONOME_TRANSPORT=bullmq, real Postgres) and the example
 * worker (examples/bullmq-worker.ts) in this process, on a random BullMQ prefix. Asserted from what
 * the worker executed and what the ledger recorded: every occurrence runs exactly once; overlap
 * `skip` holds with a job that outlives its interval; the run lock is freed when the job completes
 * or fails (not when its 10 s run lease ends); and with the broker down for 3 s, occurrences stay
 * claimed and are enqueued once when it returns — nothing lost, nothing doubled.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Worker } from 'bullmq';
import { type MetronomeJobData, metronomeWorker, type TaskHandler } from '../../examples/bullmq-worker.ts';
import { beatEnv } from '../support/beat-env.ts';
import { BeatProcess, eventually, STARTUP_MS, sleep } from '../support/beat-process.ts';
import { bullmqPrefixPerFile } from '../support/bullmq.ts';
import { TAKEN_BACK } from '../support/celery-schedules.ts';
import { beatChild } from '../support/cli.ts';
import { createMigratedDatabase } from '../support/migrated.ts';
import type { TestDatabase } from '../support/pg.ts';
import { REDIS_URL, RedisServerProcess } from '../support/redis.ts';

interface Execution {
  id: string;
  task: string;
  schedule: string;
  scheduledFor: string;
  start: number;
  end: number;
}

let db: TestDatabase;
let env: Record<string, string>;
let beat: BeatProcess | undefined;
const servers: RedisServerProcess[] = [];
const {
  prefix,
  connection: workerConnection,
  closeAfter,
} = bullmqPrefixPerFile('bullmq-beat', async () => beat?.stop());

before(async () => {
  db = await createMigratedDatabase();
  env = beatEnv(db.url, {
    METRONOME_TRANSPORT: 'bullmq',
    REDIS_URL,
    METRONOME_BULLMQ_URL: '',
    METRONOME_BULLMQ_PREFIX: prefix,
    METRONOME_LOCK_PREFIX: `${prefix}:runlock:`,
    METRONOME_RECONCILE_INTERVAL: '2s',
  });
});

after(async () => {
  for (const s of servers) await s.stop();
  await db?.drop();
});

/** The example worker on `url`, recording every execution. */
function startWorker(url: string, handlers: Record<string, TaskHandler>, executions: Execution[]): Worker {
  const connection = workerConnection(url);
  const recorded: Record<string, TaskHandler> = {};
  for (const [task, handler] of Object.entries(handlers)) {
    recorded[task] = async (job, signal) => {
      const data: MetronomeJobData = job.data;
      const e: Execution = {
        id: String(job.id),
        task: job.name,
        schedule: data.schedule,
        scheduledFor: data.scheduledFor,
        start: Date.now(),
        end: Number.NaN,
      };
      executions.push(e);
      try {
        return await handler(job, signal);
      } finally {
        e.end = Date.now();
      }
    };
  }
  const worker = metronomeWorker('metronome', recorded, {
    connection,
    prefix,
    concurrency: 8,
    onError: () => {},
  });
  return closeAfter(worker);
}

interface Row {
  task_id: string;
  status: string;
  ms: number;
}

/** As test/support/celery-schedules.ts's ledger: without the claims the test's disable took back. */
async function ledger(name: string): Promise<Row[]> {
  const rows = await db.sql<Row[]>`
    select task_id, status, (extract(epoch from scheduled_for) * 1000)::float8 as ms
    from metronome.occurrences
    where schedule_name = ${name} and not (status = 'missed' and error like ${TAKEN_BACK})
    order by scheduled_for`;
  return rows.map((r) => ({ ...r, ms: Number(r.ms) }));
}

const ids = (list: Array<{ id: string } | { task_id: string }>) =>
  list.map((x) => ('id' in x ? x.id : x.task_id)).sort();

function assertOnce(executions: Execution[], what: string): void {
  const seen = new Set<string>();
  for (const e of executions) {
    assert.ok(!seen.has(e.id), `${what}: ${e.id} ran twice`);
    seen.add(e.id);
  }
}

describe('beat → BullMQ → the example worker', () => {
  test('beat run without METRONOME_BULLMQ_URL or REDIS_URL refuses to start, naming both', async () => {
    const run = await beatChild(['run'], { env: { ...env, REDIS_URL: '', METRONOME_BULLMQ_URL: '' } });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /METRONOME_TRANSPORT=bullmq needs .*METRONOME_BULLMQ_URL \(or REDIS_URL\)/);
  });

  test('each occurrence runs once; overlap skip holds; the run lock is freed on completed and failed', async () => {
    const executions: Execution[] = [];
    let running = 0;
    let maxRunning = 0;
    startWorker(
      REDIS_URL,
      {
        'tasks.tick': async () => 'ok',
        'tasks.slow': async () => {
          running += 1;
          maxRunning = Math.max(maxRunning, running);
          try {
            await sleep(2_500);
          } finally {
            running -= 1;
          }
        },
        'tasks.boom': async () => {
          throw new Error('boom');
        },
      },
      executions,
    );
    // slow and boom hold their run lock for up to 10 s unless their end is seen.
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by, overlap, run_lease_ms)
                 values ('tick', 'tasks.tick', 'interval', 1000, 'db', 'allow', null),
                        ('slow', 'tasks.slow', 'interval', 1000, 'db', 'skip', 10000),
                        ('boom', 'tasks.boom', 'interval', 1000, 'db', 'skip', 10000)`;
    beat = new BeatProcess('beat', env);
    await beat.waitForLog('leading', STARTUP_MS);
    await sleep(7_500);
    await db.sql`update metronome.schedules set enabled = false where name in ('tick', 'slow', 'boom')`;
    await eventually('the runs in flight to finish', 8_000, async () => {
      const [r] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from metronome.occurrences where status in ('claimed', 'enqueued', 'running')`;
      return r?.n === 0;
    });
    await beat.stop();
    beat = undefined;

    // tick: every occurrence ran exactly once and is recorded succeeded.
    const tick = await ledger('tick');
    const ticks = executions.filter((e) => e.task === 'tasks.tick');
    assert.ok(tick.length >= 5, `${tick.length} tick occurrences`);
    assert.deepEqual(
      tick.map((r) => r.status),
      tick.map(() => 'succeeded'),
    );
    assertOnce(ticks, 'tick');
    assert.deepEqual(ids(ticks), ids(tick));
    for (let i = 1; i < tick.length; i++)
      assert.equal((tick[i] as Row).ms - (tick[i - 1] as Row).ms, 1_000, 'no slot lost');

    // slow: never two at once; later occurrences skipped while it runs; the next one runs as soon
    // as it completes (well before its 10 s run lease).
    const slow = await ledger('slow');
    const slows = executions.filter((e) => e.task === 'tasks.slow').sort((a, b) => a.start - b.start);
    assert.equal(maxRunning, 1, 'never two runs of slow at once');
    assertOnce(slows, 'slow');
    assert.deepEqual(ids(slows), ids(slow.filter((r) => r.status === 'succeeded')));
    assert.ok(slow.filter((r) => r.status === 'skipped_overlap').length >= 3, JSON.stringify(slow));
    assert.ok(slows.length >= 2, `${slows.length} runs of slow`);
    for (let i = 1; i < slows.length; i++) {
      const gap = (slows[i] as Execution).start - (slows[i - 1] as Execution).end;
      assert.ok(gap >= 0 && gap < 2_500, `run ${i} started ${gap} ms after the previous one completed`);
    }

    // boom: recorded failed, and the lock freed by the failure (not the 10 s lease): several runs.
    const boom = await ledger('boom');
    const booms = executions.filter((e) => e.task === 'tasks.boom');
    assertOnce(booms, 'boom');
    assert.deepEqual(ids(booms), ids(boom.filter((r) => r.status === 'failed')));
    assert.ok(booms.length >= 3, `${booms.length} runs of boom in 7.5 s with a 10 s run lease`);
    const errors = await db.sql<{ error: string | null }[]>`
      select error from metronome.occurrences where schedule_name = 'boom' and status = 'failed'`;
    assert.deepEqual(
      [...new Set(errors.map((r) => r.error))],
      ['boom'],
      "the job's failedReason is recorded",
    );
    assert.deepEqual(
      [...new Set(boom.map((r) => r.status))].sort(),
      boom.some((r) => r.status === 'skipped_overlap') ? ['failed', 'skipped_overlap'] : ['failed'],
    );
  });

  test('broker down for 3 s: occurrences stay claimed, then go once; nothing lost, nothing doubled', async () => {
    const server = await RedisServerProcess.start();
    servers.push(server);
    const executions: Execution[] = [];
    startWorker(server.url, { 'tasks.steady': async () => 'ok' }, executions);
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by, overlap)
                 values ('steady', 'tasks.steady', 'interval', 1000, 'db', 'allow')`;
    // The queues on a server of the test's own; the run locks stay on REDIS_URL.
    beat = new BeatProcess('beat-down', { ...env, METRONOME_BULLMQ_URL: server.url });
    await beat.waitForLog('leading', STARTUP_MS);
    await eventually('two runs', 5_000, () => executions.length >= 2);
    // Stop it mid-second, when the last run is long done (a crash loses whatever Redis held).
    while (Date.now() % 1_000 < 400 || Date.now() % 1_000 > 600) await sleep(10);
    await server.stop();
    const downAt = Date.now();
    await sleep(3_000);
    const claimed = (await ledger('steady')).filter((r) => r.ms > downAt && r.status === 'claimed');
    assert.ok(claimed.length >= 2, `occurrences stay claimed while the broker is down: ${claimed.length}`);
    assert.ok(beat.hasLog('enqueue attempt failed; will retry'));
    await server.start();
    await sleep(1_500);
    await db.sql`update metronome.schedules set enabled = false where name = 'steady'`;
    await eventually('every claimed occurrence to be enqueued and run', 15_000, async () => {
      const rows = await ledger('steady');
      return rows.every((r) => r.status !== 'claimed') && executions.length >= rows.length;
    });
    await sleep(500);
    await beat.stop();
    beat = undefined;

    const rows = await ledger('steady');
    assertOnce(executions, 'steady');
    assert.deepEqual(ids(executions), ids(rows), 'the worker ran exactly the occurrences of the ledger');
    for (let i = 1; i < rows.length; i++)
      assert.equal((rows[i] as Row).ms - (rows[i - 1] as Row).ms, 1_000, 'no slot lost');
    const late = executions.filter((e) => claimed.some((c) => c.task_id === e.id));
    // Of those, the ones claimed ahead of an instant after the test's disable were taken back.
    const owed = claimed.filter((c) => rows.some((r) => r.task_id === c.task_id));
    assert.ok(owed.length >= 2, `claims due during the outage (never taken back): ${owed.length}`);
    assert.equal(late.length, owed.length, 'the occurrences claimed during the outage ran');
    for (const e of late) assert.ok(e.start > downAt + 3_000, 'after the broker came back');
  });
});
