/**
 * `beat trigger` at the very millisecond of a scheduled slot: both runs happen, each with its own
 * task id, and neither hides the other (the manual occurrence must not take the slot's key, which
 * would leave the scheduled run silently unclaimed). Two triggers in one millisecond both run too.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { TRIGGER_CHANNEL } from '../../src/db/channels.ts';
import { openDatabase } from '../../src/db/database.ts';
import { insertManualOccurrence } from '../../src/db/sql/occurrences.ts';
import { eventually } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { leadingBeatPerFile } from '../support/in-process-beat.ts';

const transport = new ControlledTransport();
const file = leadingBeatPerFile(transport);

test('a manual run at the exact instant of a scheduled slot: both are claimed and sent', async () => {
  const [s] = await file.db.sql<{ id: number }[]>`
    insert into metronome.schedules (name, task, kind, every_ms, managed_by, overlap, anchor_at)
    values ('collide', 'tasks.collide', 'interval', 3600000, 'db', 'allow', now() + interval '3 seconds')
    returning id`;
  const [row] = await file.db.sql<{ next: Date }[]>`
    select anchor_at as next from metronome.schedules where id = ${s!.id}`;
  const slot = row!.next.getTime();
  // A trigger that lands on the slot's millisecond (what insertManualOccurrence writes then).
  await file.db.sql`
    insert into metronome.occurrences (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status, manual)
    values (${s!.id}, 'collide', ${new Date(slot)}, ${new Date(slot)}, ${randomUUID()}, 'claimed', true)`;
  await file.db.sql`select pg_notify(${TRIGGER_CHANNEL}, 'x')`;
  const rows = await eventually('the scheduled slot and the manual run', 8_000, async () => {
    const r = await file.db.sql<{ manual: boolean; status: string; task_id: string }[]>`
      select manual, status, task_id from metronome.occurrences
      where schedule_id = ${s!.id} and scheduled_for = ${new Date(slot)}`;
    return r.length === 2 && r.every((o) => o.status !== 'claimed') ? r : undefined;
  });
  assert.deepEqual(rows.map((r) => r.manual).sort(), [false, true]);
  assert.notEqual(rows[0]?.task_id, rows[1]?.task_id, 'each has its own task id');
});

test('triggers in quick succession are each their own run', async () => {
  const [s] = await file.db.sql<{ id: number }[]>`
    insert into metronome.schedules (name, task, kind, every_ms, managed_by, overlap)
    values ('burst', 'tasks.burst', 'interval', 3600000, 'db', 'allow') returning id`;
  const database = await openDatabase({ databaseUrl: file.db.url, dataDir: '' });
  try {
    const record = { id: Number(s!.id), name: 'burst' };
    const runs = await Promise.all(
      Array.from({ length: 20 }, () => insertManualOccurrence(database, record, false)),
    );
    assert.equal(new Set(runs.map((r) => r.taskId)).size, 20, 'twenty distinct runs');
  } finally {
    await database.close();
  }
});
