/**
 * Asking the task runtime where a run is (Transport.locate), with the Celery transport on a Redis
 * broker and result backend of the test's own and no worker, so messages stay where the test puts
 * them:
 * - an occurrence a leader sent but never recorded (it stopped in between) is found in the broker by
 *   the next leader and followed, not sent a second time;
 * - a run still queued when its lease ends holds its `skip` schedule: the next slots are skipped, not
 *   sent to run beside it;
 * - a run the broker lost (no result, not queued) is closed as `lease_ended` when its lease ends,
 *   saying it was lost, instead of being followed for minutes.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/logger.ts';
import { taskIdFor } from '../../src/model/task-id.ts';
import { loadCelerySettings } from '../../src/transports/celery/settings.ts';
import { CeleryTransport } from '../../src/transports/celery/transport.ts';
import { eventually, sleep } from '../support/beat-process.ts';
import { type InProcessBeat, startInProcessBeat } from '../support/in-process-beat.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';
import { RedisServerProcess } from '../support/redis.ts';

let db: TestDatabase;
let redis: RedisServerProcess;
let running: InProcessBeat | undefined;
let transport: CeleryTransport;
let client: Redis;

before(async () => {
  db = await createTestDatabase();
  redis = await RedisServerProcess.start();
  const settings = loadCelerySettings({ BROKER_URL: `${redis.url}/0`, RESULT_BACKEND: `${redis.url}/1` });
  transport = new CeleryTransport(settings, createLogger({ level: 'silent' }));
  client = new Redis(`${redis.url}/0`);
});

after(async () => {
  await running?.stop();
  await transport?.close();
  client?.disconnect();
  await redis?.stop();
  await db?.drop();
});

async function row(taskId: string) {
  const [r] = await db.sql<{ status: string; error: string | null }[]>`
    select status, error from metronome.occurrences where task_id = ${taskId}`;
  return r;
}

/** How many messages in the `celery` list carry this task id. */
async function copies(taskId: string): Promise<number> {
  const all = await client.lrange('celery', 0, -1);
  return all.filter((m) => m.includes(taskId)).length;
}

test('an occurrence sent but never recorded is found in the broker and not sent again', async () => {
  // A leader of an earlier term claimed it and sent it, then stopped before recording the send.
  await db.sql`create schema if not exists metronome`;
  running = await startInProcessBeat(db.url, transport, { sweepMs: 500 });
  await eventually('leadership', 5_000, () => running?.beat.leading);
  const [s] = await db.sql<{ id: number }[]>`
    insert into metronome.schedules (name, task, kind, every_ms, managed_by, overlap)
    values ('sent-once', 'tasks.record', 'interval', 3600000, 'db', 'allow') returning id`;
  const slot = Date.now() - 1_000;
  const taskId = taskIdFor(Number(s!.id), slot);
  const item = {
    taskId,
    scheduleId: Number(s!.id),
    scheduleName: 'sent-once',
    task: 'tasks.record',
    args: [],
    kwargs: {},
    queue: null,
    routingKey: null,
    priority: null,
    headers: {},
    expiresAt: null,
    timeLimitS: null,
    softTimeLimitS: null,
    scheduledFor: slot,
    fireAt: slot,
    manual: false,
  };
  assert.deepEqual(await transport.enqueue([item]), [{ taskId, ok: true }]);
  await db.sql`
    insert into metronome.occurrences (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status, leader_epoch, claimed_at)
    values (${s!.id}, 'sent-once', ${new Date(slot)}, ${new Date(slot)}, ${taskId}, 'claimed', 0, now() - interval '5 seconds')`;
  const recorded = await eventually('the claim to be taken over', 10_000, async () => {
    const r = await row(taskId);
    return r && r.status !== 'claimed' ? r : undefined;
  });
  assert.equal(recorded.status, 'enqueued');
  assert.equal(await copies(taskId), 1, 'one message in the broker, not two');
});

test('a run still queued past its lease holds its skip schedule; a lost one ends as lease_ended', async () => {
  await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by)
               values ('queued-skip', 'tasks.record', 'interval', 1000, 'db')`;
  const first = await eventually('the first run', 5_000, async () => {
    const [r] = await db.sql<{ task_id: string }[]>`
      select task_id from metronome.occurrences where schedule_name = 'queued-skip' and status = 'enqueued'
      order by scheduled_for limit 1`;
    return r?.task_id;
  });
  await sleep(3_500);
  const counts = await db.sql<{ status: string; n: number }[]>`
    select status, count(*)::int as n from metronome.occurrences where schedule_name = 'queued-skip' group by status`;
  const by = Object.fromEntries(counts.map((c) => [c.status, c.n]));
  assert.equal(by.enqueued, 1, `one run out while it waits in the queue: ${JSON.stringify(by)}`);
  assert.ok((by.skipped_overlap ?? 0) >= 2, `later slots skipped: ${JSON.stringify(by)}`);

  // The broker loses it (as a restart without its data would).
  const all = await client.lrange('celery', 0, -1);
  for (const m of all.filter((x) => x.includes(first))) await client.lrem('celery', 0, m);
  const ended = await eventually('the lost run to end', 6_000, async () => {
    const r = await row(first);
    return r?.status === 'lease_ended' ? r : undefined;
  });
  assert.match(ended.error ?? '', /lost/);
  await db.sql`update metronome.schedules set enabled = false where name = 'queued-skip'`;
});
