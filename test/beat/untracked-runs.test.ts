/**
 * Runs whose end cannot be observed — the Celery transport without RESULT_BACKEND, which is how most
 * Celery users run — on real Postgres, real Redis run locks and a real Redis broker (no worker: the
 * messages wait in the list, which is what "not observable" looks like from the beat).
 *
 * - A run lock whose run cannot be observed must never cost the next on-time slot: fast `skip`
 *   schedules send every slot (the lock's default lease ends before the next slot is due).
 * - Such runs get an end: when their run lease is over they leave `enqueued` for `lease_ended`, a
 *   finished status that says nobody saw them finish, so prune can delete them like any other.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/logger.ts';
import { celeryTransportFromEnv } from '../../src/transports/celery/transport.ts';
import type { Transport } from '../../src/transports/transport.ts';
import { eventually, sleep } from '../support/beat-process.ts';
import { type InProcessBeat, startInProcessBeat } from '../support/in-process-beat.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';
import { connectTestRedis, deletePrefix, REDIS_URL, randomPrefix } from '../support/redis.ts';

let db: TestDatabase;
let running: InProcessBeat;
let transport: Transport;
const lockPrefix = randomPrefix('untracked-lock');
const brokerPrefix = randomPrefix('untracked-broker');

before(async () => {
  const redis = await connectTestRedis();
  await redis.quit();
  db = await createTestDatabase();
  transport = await celeryTransportFromEnv(
    { BROKER_URL: REDIS_URL, CELERY_GLOBAL_KEYPREFIX: brokerPrefix },
    createLogger({ level: 'silent' }),
  );
  running = await startInProcessBeat(db.url, transport, { redisUrls: [REDIS_URL], lockPrefix });
  await eventually('leadership', 5_000, () => running.beat.leading);
});

after(async () => {
  await running?.stop();
  await transport?.close();
  const redis = await connectTestRedis();
  await deletePrefix(redis, lockPrefix);
  await deletePrefix(redis, brokerPrefix);
  await redis.quit();
  await db?.drop();
});

async function counts(prefix: string): Promise<Record<string, number>> {
  const rows = await db.sql<{ status: string; n: number }[]>`
    select status, count(*)::int as n from metronome.occurrences
    where schedule_name like ${`${prefix}%`} group by status`;
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

test('without completion tracking, fast skip schedules send every on-time slot', async () => {
  await db.sql`
    insert into metronome.schedules (name, task, kind, every_ms, managed_by)
    select 'fast-' || i, 'tasks.fast', 'interval', 1000, 'db' from generate_series(1, 50) as i`;
  await sleep(6_500);
  await db.sql`update metronome.schedules set enabled = false where name like 'fast-%'`;
  await sleep(1_500);
  const c = await counts('fast-');
  assert.equal(
    c.skipped_overlap ?? 0,
    0,
    `no slot skipped for a lock nobody can see end: ${JSON.stringify(c)}`,
  );
  const sent = (c.enqueued ?? 0) + (c.lease_ended ?? 0);
  // A slot the beat itself reached too late (a loaded machine) is missed by the catch-up policy,
  // with its reason; that is not what this test is about, but nothing may be skipped for a lock.
  const reasons = await db.sql<{ error: string }[]>`
    select distinct error from metronome.occurrences where schedule_name like 'fast-%' and status = 'missed'`;
  // Claims made ahead of their instant when the schedules were disabled are taken back.
  for (const r of reasons)
    assert.match(
      r.error,
      /catch-up|later slot|taken back: the schedule was disabled/,
      `missed for a reason: ${r.error}`,
    );
  assert.ok(sent >= 50 * 4, `the slots were sent: ${JSON.stringify(c)} ${JSON.stringify(reasons)}`);
  const client = new Redis(REDIS_URL);
  const queued = await client.llen(`${brokerPrefix}celery`);
  client.disconnect();
  assert.equal(queued, sent, 'one message per slot in the broker');
});

test('a run nobody can see finish ends with its run lease as lease_ended, and prune may delete it', async () => {
  await db.sql`
    insert into metronome.schedules (name, task, kind, every_ms, managed_by)
    values ('slow-unseen', 'tasks.slow', 'interval', 2000, 'db')`;
  const row = await eventually('a lease_ended row', 12_000, async () => {
    const [r] = await db.sql<{ status: string; error: string | null; finished_at: Date | null }[]>`
      select status, error, finished_at from metronome.occurrences
      where schedule_name = 'slow-unseen' and status = 'lease_ended' limit 1`;
    return r;
  });
  assert.ok(row.finished_at, 'it has an end');
  assert.match(row.error ?? '', /run lease/, 'the reason says why it counts as ended');
});
