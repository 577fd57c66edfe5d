/**
 * Several real beat processes against real Postgres and Redis: exactly one leads; a crashed leader
 * is replaced within TTL + 1 s; a paused (SIGSTOP) leader enqueues nothing after waking (epoch
 * fence); SIGTERM hands over in under a second. Across all of it, every slot is in the ledger
 * (enqueued or missed) and no occurrence is enqueued twice.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BeatProcess, type Enqueue, eventually, STARTUP_MS, sleep } from '../support/beat-process.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';
import { connectTestRedis, deletePrefix, REDIS_URL, randomPrefix } from '../support/redis.ts';

const TTL_MS = 2_000;

interface Setup {
  db: TestDatabase;
  env: Record<string, string>;
  beats: BeatProcess[];
}

async function setup(schedules = 4, ttlMs = TTL_MS): Promise<Setup> {
  const redis = await connectTestRedis();
  await redis.quit();
  const db = await createTestDatabase();
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL,
    METRONOME_LOCK_PREFIX: randomPrefix('failover'),
    METRONOME_LEASE_TTL: `${ttlMs}ms`,
    METRONOME_MISFIRE_GRACE: '1s',
    METRONOME_HTTP: 'off',
    METRONOME_SYNC_ON_START: 'false',
  };
  const first = new BeatProcess('migrate', env);
  await first.waitForLog('database ready', 20_000);
  await first.stop();
  for (let i = 1; i <= schedules; i++) {
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by, overlap)
                 values (${`tick-${i}`}, ${`tasks.tick${i}`}, 'interval', 1000, 'db', 'allow')`;
  }
  return { db, env, beats: [] };
}

async function teardown(s: Setup): Promise<void> {
  for (const b of s.beats) {
    b.signal('SIGCONT');
    await b.stop();
  }
  const redis = await connectTestRedis();
  await deletePrefix(redis, s.env.METRONOME_LOCK_PREFIX as string);
  await redis.quit();
  await s.db.drop();
}

function start(s: Setup, label: string): BeatProcess {
  const beat = new BeatProcess(label, s.env);
  s.beats.push(beat);
  return beat;
}

/** Every slot from a schedule's first to its last is in the ledger: enqueued/finished or missed. */
async function assertLedgerComplete(db: TestDatabase): Promise<{ rows: number; missed: number }> {
  const rows = await db.sql<{ schedule_name: string; ms: number; status: string }[]>`
    select schedule_name, (extract(epoch from scheduled_for) * 1000)::float8 as ms, status
    from metronome.occurrences where not manual order by schedule_name, scheduled_for`;
  const bySchedule = new Map<string, number[]>();
  for (const r of rows)
    bySchedule.set(r.schedule_name, [...(bySchedule.get(r.schedule_name) ?? []), Number(r.ms)]);
  for (const [name, slots] of bySchedule) {
    for (let i = 1; i < slots.length; i++) {
      assert.equal(
        (slots[i] as number) - (slots[i - 1] as number),
        1000,
        `${name}: a gap after ${new Date(slots[i - 1] as number).toISOString()}`,
      );
    }
  }
  const claimed = rows.filter((r) => r.status === 'claimed');
  assert.equal(claimed.length, 0, 'no occurrence left claimed after the beats stopped');
  return { rows: rows.length, missed: rows.filter((r) => r.status === 'missed').length };
}

/** Each task id enqueued once, except re-sends a new leader announced for a crashed one's claims. */
function assertNoDuplicates(all: Enqueue[], allowedResends = new Set<string>()): void {
  const seen = new Map<string, number>();
  for (const e of all) seen.set(e.taskId, (seen.get(e.taskId) ?? 0) + 1);
  const twice = [...seen].filter(([id, n]) => n > 1 && !allowedResends.has(id));
  assert.deepEqual(twice, [], 'no occurrence enqueued twice');
  // One task id per (schedule, slot): a re-send never gets a new id.
  const slots = new Map<string, string>();
  for (const e of all) {
    const key = `${e.schedule}@${e.scheduledFor}`;
    assert.equal(slots.get(key) ?? e.taskId, e.taskId, `${key} enqueued under two task ids`);
    slots.set(key, e.taskId);
  }
}

describe('leadership across processes', () => {
  test('exactly one of two beats leads; kill -9 of the leader: the standby leads within TTL + 1 s', async () => {
    const s = await setup();
    try {
      const a = start(s, 'A');
      await a.waitForLog('leading', STARTUP_MS);
      const b = start(s, 'B');
      await b.waitForLog('beat starting', 15_000);
      await sleep(3_000);
      assert.equal(b.hasLog('leading'), false, 'the standby does not lead while the leader lives');
      assert.ok(a.enqueued.length >= 8, `the leader fires (${a.enqueued.length} enqueues)`);
      const killedAt = Date.now();
      a.signal('SIGKILL');
      const leading = await b.waitForLog('leading', TTL_MS + 3_000, killedAt);
      const failoverMs = leading.receivedAt - killedAt;
      assert.ok(failoverMs <= TTL_MS + 1_000, `failover took ${failoverMs} ms (TTL ${TTL_MS} ms)`);
      await eventually('the new leader to fire', 5_000, () => b.enqueued.length >= 8);
      await b.stop();
      const resent = new Set(
        b.logs.filter((l) => l.msg === 're-sending occurrences claimed but never enqueued (same task ids)')
          .length > 0
          ? a.enqueued.map((e) => e.taskId)
          : [],
      );
      assertNoDuplicates([...a.enqueued, ...b.enqueued], resent);
      const ledger = await assertLedgerComplete(s.db);
      console.log(
        `crash failover: ${failoverMs} ms with TTL ${TTL_MS} ms; ledger ${ledger.rows} rows, ${ledger.missed} missed`,
      );
    } finally {
      await teardown(s);
    }
  });

  test('a leader stopped past its lease enqueues nothing when it wakes (epoch fence); nothing doubles', async () => {
    const s = await setup();
    try {
      const a = start(s, 'A');
      await a.waitForLog('leading', STARTUP_MS);
      const b = start(s, 'B');
      await b.waitForLog('beat starting', 15_000);
      await sleep(1_500);
      a.signal('SIGSTOP');
      const stoppedAt = Date.now();
      await b.waitForLog('leading', TTL_MS + 3_000, stoppedAt);
      await sleep(TTL_MS);
      const before = a.enqueued.length;
      a.signal('SIGCONT');
      const wokeAt = Date.now();
      await a.waitForLog('stepped down', 5_000, wokeAt);
      await sleep(2_500);
      const afterWake = a.enqueued.slice(before).filter((e) => e.receivedAt >= wokeAt);
      assert.deepEqual(afterWake, [], 'the woken leader enqueued nothing');
      await a.stop();
      await b.stop();
      assertNoDuplicates([...a.enqueued, ...b.enqueued]);
      await assertLedgerComplete(s.db);
    } finally {
      await teardown(s);
    }
  });

  test('SIGTERM hands leadership over in under a second', async () => {
    const s = await setup(1);
    try {
      const a = start(s, 'A');
      await a.waitForLog('leading', STARTUP_MS);
      const b = start(s, 'B');
      await b.waitForLog('beat starting', 15_000);
      await sleep(1_000);
      const termAt = Date.now();
      a.signal('SIGTERM');
      const leading = await b.waitForLog('leading', 3_000, termAt);
      const handoverMs = leading.receivedAt - termAt;
      assert.ok(handoverMs < 1_000, `hand-over took ${handoverMs} ms`);
      assert.equal(await a.exited, 0, 'the old leader exits 0');
      await eventually('the new leader to fire', 3_000, () => b.enqueued.length >= 2);
      await b.stop();
      assertNoDuplicates([...a.enqueued, ...b.enqueued]);
      await assertLedgerComplete(s.db);
      console.log(`SIGTERM hand-over: ${handoverMs} ms`);
    } finally {
      await teardown(s);
    }
  });

  test('default lease (10 s): a crashed leader is replaced in about a second, a paused one only when its lease ends', async () => {
    const s = await setup(2, 10_000);
    try {
      const a = start(s, 'A');
      await a.waitForLog('leading', STARTUP_MS);
      const b = start(s, 'B');
      await b.waitForLog('beat starting', 15_000);
      await sleep(2_000);
      const killedAt = Date.now();
      a.signal('SIGKILL');
      const leading = await b.waitForLog('leading', 8_000, killedAt);
      const first = await eventually('the new leader to enqueue', 8_000, () =>
        b.enqueued.find((e) => e.receivedAt >= killedAt),
      );
      const failoverMs = leading.receivedAt - killedAt;
      const firstEnqueueMs = first.receivedAt - killedAt;
      assert.ok(failoverMs < 3_000, `crash failover took ${failoverMs} ms with a 10 s lease`);
      assert.equal(leading.tookOverFromCrashed, true, 'taken over because the holder session closed');

      // Now pause the new leader: its session stays open, so C must wait for the lease to end.
      const c = start(s, 'C');
      await c.waitForLog('beat starting', 15_000);
      await sleep(1_000);
      b.signal('SIGSTOP');
      const stoppedAt = Date.now();
      const cLeads = await c.waitForLog('leading', 20_000, stoppedAt);
      const pausedMs = cLeads.receivedAt - stoppedAt;
      assert.ok(
        pausedMs >= 6_000,
        `a paused leader keeps its lease until it ends (replaced after ${pausedMs} ms)`,
      );
      b.signal('SIGCONT');
      await b.waitForLog('stepped down', 10_000, stoppedAt);
      await sleep(1_500);
      await c.stop();
      await b.stop();
      const resent = new Set([...a.enqueued, ...b.enqueued].map((e) => e.taskId));
      assertNoDuplicates([...a.enqueued, ...b.enqueued, ...c.enqueued], resent);
      await assertLedgerComplete(s.db);
      console.log(
        `crash failover with a 10 s lease: leading after ${failoverMs} ms, first enqueue after ${firstEnqueueMs} ms; a paused leader replaced after ${pausedMs} ms`,
      );
    } finally {
      await teardown(s);
    }
  });
});
