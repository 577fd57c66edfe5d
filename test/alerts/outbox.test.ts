/**
 * The alerts outbox on real Postgres (issue 20): an alert raised twice is one row; only the leader
 * whose lease is valid raises alerts and takes delivery attempts; an attempt under way is not
 * started again by anyone until it may have timed out; a failed attempt waits for its retry; a
 * delivered alert leaves the outbox; a pending one survives pruning whatever its age.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  claimDeliveries,
  markAttemptFailed,
  markDelivered,
  pendingAlertCount,
  pruneAlerts,
} from '../../src/db/sql/alerts.ts';
import { openBreaches, recordJudgements } from '../../src/db/sql/deadlines.ts';
import { FencedError } from '../../src/db/sql/leader.ts';
import { type AlertToRaise, alertKey } from '../../src/model/deadline.ts';
import { migratedDatabasePerFile } from '../support/migrated.ts';

const file = migratedDatabasePerFile();
const leaderA = { group: 'default', holder: 'a', epoch: 1 };
const leaderB = { group: 'default', holder: 'b', epoch: 2 };
const SLOT = Date.parse('2026-06-01T10:00:00Z');

async function lease(holder: string, epoch: number): Promise<void> {
  await file.db.sql`
    insert into metronome.leader (grp, holder, epoch, expires_at)
    values ('default', ${holder}, ${epoch}, now() + interval '10 seconds')
    on conflict (grp) do update set holder = excluded.holder, epoch = excluded.epoch, expires_at = excluded.expires_at`;
}

const alert = (scheduleId: number, kind: AlertToRaise['kind']): AlertToRaise => ({
  key: alertKey(scheduleId, SLOT, kind),
  scheduleId,
  scheduleName: `s${scheduleId}`,
  scheduledFor: SLOT,
  kind,
  reason: `reason of ${kind}`,
});

test('raised once per key, only under a valid lease; attempts taken by the leader alone, once at a time', async () => {
  await file.db
    .sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by, finish_deadline_ms)
                    values ('s1', 't', 'interval', 60000, 'db', 5000)`;
  const [{ id } = { id: 0 }] = await file.db.sql<
    { id: number }[]
  >`select id from metronome.schedules where name = 's1'`;
  await lease('a', 1);
  const first = await recordJudgements(file.database, leaderA, [], [alert(Number(id), 'failed')], 'pending');
  assert.deepEqual([...first], [alertKey(Number(id), SLOT, 'failed')]);
  const again = await recordJudgements(file.database, leaderA, [], [alert(Number(id), 'failed')], 'pending');
  assert.equal(again.size, 0, 'the same key raised again adds nothing');
  assert.deepEqual([...((await openBreaches(file.database)).get(Number(id)) ?? [])], ['failed']);
  await assert.rejects(
    recordJudgements(file.database, leaderB, [], [alert(Number(id), 'missed')], 'pending'),
    FencedError,
  );

  assert.deepEqual(await claimDeliveries(file.database, leaderB, 10, 60_000), [], 'not the leader: nothing');
  const taken = await claimDeliveries(file.database, leaderA, 10, 60_000);
  assert.equal(taken.length, 1);
  assert.equal(taken[0]?.attempts, 1);
  assert.deepEqual(
    await claimDeliveries(file.database, leaderA, 10, 60_000),
    [],
    'an attempt under way is not started again',
  );

  await lease('b', 2);
  assert.deepEqual(
    await claimDeliveries(file.database, leaderA, 10, 0),
    [],
    'a leader whose lease moved on takes nothing',
  );
  await markAttemptFailed(file.database, taken[0]!.id, 'the webhook answered 503', 0);
  const retry = await claimDeliveries(file.database, leaderB, 10, 60_000);
  assert.equal(retry[0]?.attempts, 2, 'the next leader retries it, same key');
  assert.equal(retry[0]?.key, taken[0]?.key);
  assert.equal(retry[0]?.lastError, 'the webhook answered 503');
  await markDelivered(file.database, retry[0]!.id);
  assert.equal(await pendingAlertCount(file.database), 0);
});

test('pruning deletes old delivered alerts and keeps pending ones whatever their age', async () => {
  await lease('b', 2);
  await recordJudgements(file.database, leaderB, [], [alert(7, 'missed'), alert(8, 'missed')], 'pending');
  await file.db.sql`update metronome.alerts set raised_at = now() - interval '40 days'`;
  const [delivered] = await file.db.sql<
    { id: number }[]
  >`select id from metronome.alerts where schedule_id = 7`;
  await markDelivered(file.database, Number(delivered?.id));
  assert.equal(await pruneAlerts(file.database, 30 * 86_400_000), 2, 'the two delivered ones');
  const left = await file.db.sql<{ schedule_id: string }[]>`select schedule_id::text from metronome.alerts`;
  assert.deepEqual(
    left.map((r) => r.schedule_id),
    ['8'],
  );
});
