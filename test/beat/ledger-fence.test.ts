/**
 * Status writes are fenced by ownership: once a newer leader has taken over an occurrence, the
 * writes of the leader before it — one that was paused past its lease and woke up — match no row.
 * And taking over needs the lease: a leader whose lease is gone cannot take rows back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ledger } from '../../src/db/sql/occurrences.ts';
import { migratedDatabasePerFile } from '../support/migrated.ts';

const file = migratedDatabasePerFile();

async function lease(holder: string, epoch: number, valid = true): Promise<void> {
  await file.db.sql`
    insert into metronome.leader (grp, holder, epoch, expires_at)
    values ('default', ${holder}, ${epoch}, now() + ${valid ? '10 seconds' : '-1 seconds'}::interval)
    on conflict (grp) do update set holder = excluded.holder, epoch = excluded.epoch, expires_at = excluded.expires_at`;
}

async function row(taskId: string) {
  const [r] = await file.db.sql<{ status: string; leader_epoch: string }[]>`
    select status, leader_epoch::text from metronome.occurrences where task_id = ${taskId}`;
  return r;
}

test("an old leader's write after a new leader took the occurrence over changes nothing", async () => {
  const old = new Ledger(file.database, { group: 'default', holder: 'old', epoch: 1 });
  const fresh = new Ledger(file.database, { group: 'default', holder: 'new', epoch: 2 });
  await file.db.sql`
    insert into metronome.occurrences (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status, leader_epoch)
    values (1, 'a', now(), now(), 't-1', 'claimed', 1)`;
  await lease('new', 2);
  const adopted = await fresh.adoptUnfinished(3_600_000, { claims: true });
  assert.deepEqual(
    adopted.map((o) => o.taskId),
    ['t-1'],
  );
  assert.deepEqual(await fresh.setStatus(['t-1'], 'enqueued', ['claimed']), ['t-1']);
  // The old leader wakes and records what it thought happened.
  assert.deepEqual(await old.setStatus(['t-1'], 'succeeded', ['claimed', 'enqueued']), []);
  await old.noteAttemptError(['t-1'], 'old news');
  assert.deepEqual(await row('t-1'), { status: 'enqueued', leader_epoch: '2' });
});

test('a leader without a valid lease cannot take occurrences over', async () => {
  await file.db.sql`
    insert into metronome.occurrences (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status, leader_epoch)
    values (1, 'a', now() + interval '1 second', now(), 't-2', 'claimed', 2)`;
  await lease('newer', 3, false);
  const expired = new Ledger(file.database, { group: 'default', holder: 'newer', epoch: 3 });
  assert.deepEqual(await expired.adoptUnfinished(3_600_000, { claims: true }), []);
  assert.deepEqual(await expired.strandedClaims(new Set(), 0), []);
  assert.equal((await row('t-2'))?.leader_epoch, '2');
});
