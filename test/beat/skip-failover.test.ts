/**
 * A skip across a failover (issue 19): a leader died holding claims made ahead of their instant, and
 * an operator's skip is pending. The next leader takes the claims over; the skip takes the earliest
 * of them back — recorded `skipped`, never sent — and is consumed once: the one after it is sent,
 * with its task id, at its instant. Every wait is for a state, with a bound.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { taskIdFor } from '../../src/model/task-id.ts';
import { eventually } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { type InProcessBeat, startInProcessBeat } from '../support/in-process-beat.ts';
import { createMigratedDatabase } from '../support/migrated.ts';
import type { TestDatabase } from '../support/pg.ts';

let db: TestDatabase | undefined;
let running: InProcessBeat | undefined;
after(async () => {
  await running?.stop();
  await db?.drop();
});

test('claims a dead leader made ahead, with a skip pending: the earliest is recorded skipped and never sent, the next sent once', async () => {
  db = await createMigratedDatabase();
  const [{ ms } = { ms: 0 }] = await db.sql<{ ms: number }[]>`
    select (extract(epoch from date_trunc('second', now()) + interval '8 seconds') * 1000)::float8 as ms`;
  const at = Number(ms);
  // The dead leader's state: two slots claimed ahead (its term, epoch 0, ended without giving them
  // back), the cursor past them, and an operator's skip of one that landed after the claims.
  const [row] = await db.sql<{ id: number }[]>`
    insert into metronome.schedules
      (name, task, kind, every_ms, anchor_at, managed_by, overlap, next_fire_at, skip_count, skip_reason)
    values ('skip-adopted', 'tasks.adopted', 'interval', 2000, ${new Date(at)}, 'db', 'allow',
            ${new Date(at + 4_000)}, 1, 'drill')
    returning id`;
  const id = Number(row?.id);
  for (const slot of [at, at + 2_000]) {
    await db.sql`
      insert into metronome.occurrences
        (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status, leader_epoch, claimed_at)
      values (${id}, 'skip-adopted', ${new Date(slot)}, ${new Date(slot)}, ${taskIdFor(id, slot)}, 'claimed', 0,
              now() - interval '5 seconds')`;
  }
  const transport = new ControlledTransport();
  running = await startInProcessBeat(db.url, transport, { claimAheadMs: 2_000 });
  const statusOf = async (slot: number) =>
    (
      await db!.sql<{ status: string; error: string | null }[]>`
        select status, error from metronome.occurrences where task_id = ${taskIdFor(id, slot)}`
    )[0];
  await eventually(
    'the earliest claim recorded skipped',
    10_000,
    async () => (await statusOf(at))?.status === 'skipped',
  );
  assert.equal((await statusOf(at))?.error, 'skipped: drill');
  await eventually('the next claim sent', 20_000, () =>
    transport.of('skip-adopted').some((s) => s.scheduledFor === at + 2_000),
  );
  const sent = transport.of('skip-adopted');
  assert.ok(!sent.some((s) => s.scheduledFor === at), 'the skipped one was never sent');
  const second = sent.filter((s) => s.scheduledFor === at + 2_000);
  assert.equal(second.length, 1, 'the next one sent once');
  assert.equal(second[0]?.taskId, taskIdFor(id, at + 2_000), 'with its own task id');
  assert.ok((second[0]?.at ?? 0) >= at + 2_000, 'at its instant, not before');
  const [state] = await db.sql<{ skip_count: number }[]>`
    select skip_count from metronome.schedules where id = ${id}`;
  assert.equal(state?.skip_count, 0, 'the skip consumed once');
  const [{ skipped } = { skipped: -1 }] = await db.sql<{ skipped: number }[]>`
    select count(*)::int as skipped from metronome.occurrences where schedule_id = ${id} and status = 'skipped'`;
  assert.equal(skipped, 1, 'exactly one skipped');
});
