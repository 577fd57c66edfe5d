/**
 * The database or Redis unreachable for a while: the beat keeps running, reports not-ready, and
 * resumes per catch-up policy when they return. Nothing crashes on a dropped connection, nothing is
 * lost (every slot has a row) and nothing is enqueued twice.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BeatProcess, eventually, STARTUP_MS, sleep } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { startInProcessBeat } from '../support/in-process-beat.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';
import { freePort, RedisServerProcess } from '../support/redis.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

async function ready(
  port: number,
): Promise<{ status: number; body: { ready: boolean; reasons: string[] } } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: res.status, body: (await res.json()) as { ready: boolean; reasons: string[] } };
  } catch {
    return undefined;
  }
}

async function assertComplete(db: TestDatabase, name: string): Promise<Record<string, number>> {
  const rows = await db.sql<{ ms: number; status: string }[]>`
    select (extract(epoch from scheduled_for) * 1000)::float8 as ms, status from metronome.occurrences
    where schedule_name = ${name} order by scheduled_for`;
  for (let i = 1; i < rows.length; i++) {
    assert.equal(
      Number(rows[i]?.ms) - Number(rows[i - 1]?.ms),
      1000,
      `${name}: a gap after ${new Date(Number(rows[i - 1]?.ms)).toISOString()}`,
    );
  }
  const counts: Record<string, number> = {};
  for (const r of rows) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

function assertNoDuplicates(beat: BeatProcess): void {
  const ids = beat.enqueued.map((e) => e.taskId);
  assert.equal(new Set(ids).size, ids.length, 'no task id enqueued twice');
}

test('Postgres unreachable for 5 s: not ready, no crash, leads again and catches up', async () => {
  const db = await createTestDatabase();
  const target = new URL(db.url);
  const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  const viaProxy = new URL(db.url);
  viaProxy.port = String(proxy.port);
  const httpPort = await freePort();
  const beat = new BeatProcess('beat', {
    DATABASE_URL: viaProxy.toString(),
    METRONOME_LEASE_TTL: '2s',
    METRONOME_MISFIRE_GRACE: '1s',
    METRONOME_HTTP: `127.0.0.1:${httpPort}`,
    METRONOME_SYNC_ON_START: 'false',
    REDIS_URL: '',
  });
  try {
    await beat.waitForLog('leading', STARTUP_MS);
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by) values ('steady', 't', 'interval', 1000, 'db')`;
    await eventually('fires', 5_000, () => beat.enqueued.length >= 2);
    assert.equal((await ready(httpPort))?.status, 200);

    await proxy.down();
    const downAt = Date.now();
    const notReady = await eventually('not ready', 6_000, async () => {
      const r = await ready(httpPort);
      return r && r.status === 503 ? r : undefined;
    });
    assert.ok(
      notReady.body.reasons.some((reason) => /database/i.test(reason)),
      JSON.stringify(notReady.body),
    );
    assert.equal((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status, 200, 'alive');
    await sleep(Math.max(0, 5_000 - (Date.now() - downAt)));
    assert.equal(beat.child.exitCode, null, 'still running');

    await proxy.up();
    const upAt = Date.now();
    await beat.waitForLog('leading', 10_000, upAt);
    await eventually('ready again', 5_000, async () => (await ready(httpPort))?.status === 200).catch(
      (error: Error) => {
        const tail = beat.logs.slice(-40).map((l) => JSON.stringify(l));
        throw new Error(`${error.message}\nlast logs:\n${tail.join('\n')}`);
      },
    );
    // A slot after the outage recorded: the ledger, not the log, whose lines from before it may
    // reach the test late on a loaded machine.
    await eventually('fires again, recorded', 30_000, async () => {
      const [after] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from metronome.occurrences
        where schedule_name = 'steady' and status = 'succeeded' and scheduled_for > ${new Date(upAt)}`;
      return (after?.n ?? 0) > 0;
    });
    await beat.stop();
    const counts = await assertComplete(db, 'steady');
    assert.ok((counts.missed ?? 0) >= 2, `the outage is in the ledger: ${JSON.stringify(counts)}`);
    assertNoDuplicates(beat);
  } finally {
    await beat.stop();
    await proxy.down();
    await db.drop();
  }
});

test('Redis (run locks) unreachable: not ready, occurrences wait, then go once; nothing lost or doubled', async () => {
  // In-process, with a transport whose runs last (the log transport's runs end on enqueue and take
  // no run lock at all), run locks on a redis-server of the test's own that is stopped and restarted.
  const db = await createTestDatabase();
  const redis = await RedisServerProcess.start();
  const transport = new ControlledTransport();
  const running = await startInProcessBeat(db.url, transport, {
    redisUrls: [redis.url],
    lockPrefix: 'outage:',
  });
  try {
    await eventually('leadership', 5_000, () => running.beat.leading);
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by) values ('locked', 't', 'interval', 1000, 'db')`;
    await eventually('fires', 5_000, () => transport.of('locked').length >= 1);
    transport.finishAll();

    await redis.stop();
    const notReady = await eventually('not ready', 5_000, () => {
      const r = running.beat.readiness();
      return r.ready ? undefined : r;
    });
    assert.ok(
      notReady.reasons.some((reason) => /run locks unavailable/.test(reason)),
      JSON.stringify(notReady),
    );
    await sleep(2_000);
    const claimed =
      await db.sql`select 1 from metronome.occurrences where schedule_name = 'locked' and status = 'claimed'`;
    assert.ok(claimed.length >= 1, 'occurrences stay claimed while the lock service is down');
    const sentBefore = transport.of('locked').length;

    await redis.start();
    await eventually('claimed occurrences to be handled', 20_000, async () => {
      // Claims whose instant has not come yet (claimed ahead) are not waiting for the locks.
      const rows = await db.sql`select 1 from metronome.occurrences
        where schedule_name = 'locked' and status = 'claimed' and fire_at < now() - interval '1 second'`;
      return rows.length === 0 && transport.of('locked').length > sentBefore;
    });
    await eventually('ready again', 5_000, () => running.beat.readiness().ready);
    await running.stop();
    await assertComplete(db, 'locked');
    const ids = transport.of('locked').map((e) => e.taskId);
    assert.equal(new Set(ids).size, ids.length, 'no task id enqueued twice');
  } finally {
    await running.stop().catch(() => {});
    await redis.stop();
    await db.drop();
  }
});
