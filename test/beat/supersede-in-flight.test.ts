/**
 * Sends at the instant are pipelined (src/beat/dispatcher.ts, dispatchBatches): batch n+1 is admitted
 * while batch n is still with the broker. A `skip` schedule keeps one unsent occurrence (a later slot
 * supersedes an earlier one that could not go), but an occurrence whose send is under way is not
 * "unsent": superseding it would record it missed and release its run lock while it goes out, and
 * the later slot would be sent beside it. On real Postgres and Redis run locks, batches of one, a
 * broker held at its gate until two slots of an every-second `skip` schedule are due (found by review).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { leadingBeatPerFile } from '../support/in-process-beat.ts';

const transport = new ControlledTransport();
const file = leadingBeatPerFile(transport, {
  redisLocks: true,
  batchSize: 1,
  claimAheadMs: 6_000,
  leaseTtlMs: 20_000,
});

test('a slot whose send is under way is not superseded by the next slot of its schedule', async () => {
  const gate = transport.hold();
  await file.db.sql`
    insert into metronome.schedules (name, task, kind, run_at, managed_by)
    values ('blocker', 'tasks.b', 'clocked', now() + interval '1500 milliseconds', 'db')`;
  await file.db.sql`
    insert into metronome.schedules (name, task, kind, every_ms, start_at, managed_by, overlap)
    values ('every-s', 'tasks.s', 'interval', 1000, now() + interval '2200 milliseconds', 'db', 'skip')`;
  await gate.arrived;
  await eventually('two claimed slots of every-s, both due', 15_000, async () => {
    const [row] = await file.db.sql<{ n: number; due: boolean }[]>`
      select count(*)::int as n, bool_and(fire_at < now() - interval '200 milliseconds') as due
      from metronome.occurrences where schedule_name = 'every-s' and status = 'claimed'`;
    return row !== undefined && row.n >= 2 && row.due;
  });
  gate.release();
  await eventually('every-s sent', 10_000, () => transport.of('every-s').length >= 1);
  const sent = new Set(transport.of('every-s').map((e) => e.taskId));
  await eventually('every sent occurrence of every-s recorded sent', 10_000, async () => {
    const rows = await file.db.sql<{ task_id: string; status: string }[]>`
      select task_id, status from metronome.occurrences where schedule_name = 'every-s'`;
    return rows
      .filter((r) => sent.has(r.task_id))
      .every((r) => ['enqueued', 'running', 'succeeded'].includes(r.status));
  });
  const early = transport.of('every-s').filter((e) => e.at < Date.now());
  const firstTwo = early.slice(0, 2).map((e) => new Date(e.scheduledFor).toISOString());
  assert.ok(
    early.length <= 1 || (early[1]?.at ?? 0) - (early[0]?.at ?? 0) >= 500,
    `two runs of a skip schedule sent at once: ${firstTwo.join(', ')}`,
  );
  await file.db.sql`delete from metronome.schedules where name = 'every-s'`;
});
