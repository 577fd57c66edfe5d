/**
 * A takeover from a holder whose session is gone but whose lease has not ended (its connection was
 * cut; the process may be alive, sending what it had claimed or buffered until its lease ends): the
 * new leader must not send a fresh slot of such a schedule meanwhile, or the two runs could overlap.
 * Found by the 20-minute chaos run (pg_terminate_backend of the leader's connections: the old leader
 * sent a buffered run 0.3 s after the takeover; the new leader sent the next slot while it ran).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { eventually, sleep } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { type InProcessBeat, startInProcessBeat } from '../support/in-process-beat.ts';
import { createMigratedDatabase } from '../support/migrated.ts';
import type { TestDatabase } from '../support/pg.ts';

const OLD_LEASE_MS = 4_000;
let db: TestDatabase;
let running: InProcessBeat | undefined;
const transport = new ControlledTransport();

before(async () => {
  db = await createMigratedDatabase();
});
after(async () => {
  await running?.stop();
  await db?.drop();
});

test('schedules the earlier holder may still be sending stay busy until its lease is over', async () => {
  const [s] = await db.sql<{ id: number }[]>`
    insert into metronome.schedules (name, task, kind, every_ms, overlap, managed_by, next_fire_at)
    values ('held', 'tasks.held', 'interval', 1000, 'skip', 'db', date_trunc('second', now()) + interval '1 second')
    returning id`;
  const oldClaim = randomUUID();
  // What the earlier leader (epoch 1) left: a claim it may still be sending, and its lease, held by
  // a session that is gone (no backend has that pid), valid for OLD_LEASE_MS more.
  await db.sql`insert into metronome.occurrences
      (task_id, schedule_id, schedule_name, scheduled_for, fire_at, status, leader_epoch)
    values (${oldClaim}, ${s!.id}, 'held', date_trunc('second', now()), date_trunc('second', now()), 'claimed', 1)`;
  await db.sql`insert into metronome.leader (grp, holder, epoch, expires_at, holder_pid)
    values ('default', 'gone:1', 1, now() + ${OLD_LEASE_MS} * interval '1 millisecond', 2147483647)`;
  const [{ until } = { until: new Date() }] = await db.sql<{ until: Date }[]>`
    select expires_at as until from metronome.leader where grp = 'default'`;

  running = await startInProcessBeat(db.url, transport);
  await eventually('the takeover', 3_000, () => running?.beat.leading === true);

  // While the old lease lasts: the schedule's fresh slots are claimed and skipped, none sent.
  await sleep(Math.max(0, until.getTime() - Date.now() - 500));
  const early = transport.enqueued.filter((i) => i.scheduleName === 'held' && i.at < until.getTime());
  assert.deepEqual(
    early.map((i) => new Date(i.scheduledFor).toISOString()),
    [],
    'nothing of the schedule was sent while the earlier holder could still be sending it',
  );
  const [skip] = await db.sql<{ n: number; error: string }[]>`
    select count(*)::int as n, min(error) as error from metronome.occurrences
    where schedule_name = 'held' and status = 'skipped_overlap'`;
  assert.ok(skip!.n >= 1, 'the slots due meanwhile are recorded skipped');
  assert.match(skip!.error, /previous leader may still be sending/);

  // Then the earlier claim is taken over and sent (the runtime has not got it), and the grid resumes.
  await eventually('the old claim sent', 5_000, () => transport.enqueued.some((i) => i.taskId === oldClaim));
  const sent = transport.enqueued.find((i) => i.taskId === oldClaim);
  assert.ok(sent && sent.at >= until.getTime(), 'the earlier claim is taken over once the old lease is over');
  // The status write follows the send: wait for it. Claims made ahead (instant to come) are not stuck.
  await eventually('nothing left claimed past its instant', 5_000, async () => {
    const stuck = await db.sql`select 1 from metronome.occurrences
      where schedule_name = 'held' and status = 'claimed' and fire_at < now() - interval '1 second'`;
    return stuck.length === 0;
  });
});
