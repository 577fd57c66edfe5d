/**
 * A herd larger than the lookahead can claim (src/beat/herd-window.ts), on real Postgres: the leader
 * begins its claims early enough, well before the configured lookahead, and still sends each
 * occurrence once, at its instant, never before.
 *
 * The leader is told to count on a slow claim rate until it has measured its own, so the herd's
 * first claims come at once, whatever the machine's speed; every wait is for a state, with a bound.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { leadingBeatPerFile } from '../support/in-process-beat.ts';

const LOOKAHEAD_MS = 500;
const transport = new ControlledTransport();
// 100 claims a second assumed (50 counted on): 2,000 due in 20 s need 40 s, so claims start at once.
const file = leadingBeatPerFile(transport, { claimAheadMs: LOOKAHEAD_MS, batchSize: 200, claimRate: 100 });

test('a herd is claimed ahead of the lookahead, early enough, and each of it sent once at its instant', async () => {
  const [row] = await file.db.sql<{ ms: number }[]>`
    select (extract(epoch from date_trunc('second', now()) + interval '20 seconds') * 1000)::float8 as ms`;
  const at = Number(row?.ms);
  const n = 2_000;
  await file.db.sql`
    insert into metronome.schedules (name, task, kind, every_ms, anchor_at, managed_by, next_fire_at)
    select 'herd-' || i, 'tasks.herd', 'interval', 3600000, ${new Date(at)}, 'db', ${new Date(at)}
    from generate_series(1, ${n}) as i`;
  const herd = () => transport.enqueued.filter((e) => e.scheduleName.startsWith('herd-'));
  await eventually('the herd sent', 120_000, () => herd().length >= n);
  const [ledger] = await file.db.sql<{ earliest: number; n: number }[]>`
    select max(extract(epoch from fire_at - claimed_at) * 1000)::float8 as earliest, count(*)::int as n
    from metronome.occurrences where schedule_name like 'herd-%'`;
  assert.equal(ledger?.n, n);
  assert.ok(
    Number(ledger?.earliest) > 5_000,
    `the herd's first claims came ${ledger?.earliest} ms before its instant: not ahead of the ${LOOKAHEAD_MS} ms lookahead`,
  );
  const sent = herd();
  assert.equal(new Set(sent.map((e) => e.taskId)).size, n, 'each sent once');
  assert.equal(sent.length, n, 'none sent twice');
  assert.ok(Math.min(...sent.map((e) => e.at)) >= at, 'none sent before the instant');
});
