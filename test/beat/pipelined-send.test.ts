/**
 * The sends at the instant are pipelined (src/beat/dispatcher.ts, dispatchBatches): while one batch is
 * with the broker, the next batch's run locks are taken, and it is sent once the first send returns.
 * On real Postgres and real Redis run locks, batches of one schedule each, a broker held at its gate:
 * - the second batch's lock is in Redis while the first batch waits at the broker, and it is not sent
 *   before the first send returns;
 * - every schedule is sent once, and recorded enqueued.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { leadingBeatPerFile, statusCounts } from '../support/in-process-beat.ts';
import { connectTestRedis } from '../support/redis.ts';

const transport = new ControlledTransport();
const file = leadingBeatPerFile(transport, { redisLocks: true, batchSize: 1 });

test("the next batch's run locks are taken while the batch before it is with the broker", async () => {
  const names = ['pipe-a', 'pipe-b', 'pipe-c'];
  // One statement: one now(), so all three are due at the same instant.
  const rows = await file.db.sql<{ id: number; name: string }[]>`
    insert into metronome.schedules (name, task, kind, run_at, managed_by)
    select name, 'tasks.pipe', 'clocked', now() + interval '3 seconds', 'db' from unnest(${names}::text[]) as name
    returning id, name`;
  const ids = new Map(rows.map((r) => [r.name, Number(r.id)]));
  const gate = transport.hold();
  await gate.arrived;
  const [first] = transport.waiting();
  assert.ok(first, 'a batch waits at the broker');
  const redis = await connectTestRedis();
  try {
    const others = names.filter((n) => n !== first);
    const lockOf = (name: string) => redis.exists(`${file.lockPrefix}schedule:${ids.get(name)}`);
    await eventually("a second batch's run lock taken while the first is at the broker", 10_000, async () => {
      const held = await Promise.all(others.map(lockOf));
      return held.some((n) => n === 1);
    });
    assert.equal(transport.waiting().length, 1, 'nothing else reached the broker meanwhile');
  } finally {
    gate.release();
    await redis.quit();
  }
  await eventually('all three sent', 10_000, () => names.every((n) => transport.of(n).length === 1));
  assert.deepEqual(transport.duplicates(), [], 'no task id sent twice');
  for (const name of names) {
    await eventually(`${name} recorded enqueued`, 10_000, async () => {
      const counts = await statusCounts(file.db, name);
      return (counts.enqueued ?? 0) + (counts.running ?? 0) + (counts.succeeded ?? 0) === 1;
    });
  }
});
