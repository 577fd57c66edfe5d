/**
 * A leader that holds only what is near still fires everything on time (schedule-book.ts): an edit
 * that moves a schedule from beyond the horizon into it fires its first slot; a row inserted by SQL
 * without next_fire_at fires on its first slot; a backlog after downtime larger than a page of the
 * horizon read is all caught up; an edit that moves a schedule out of the horizon stops it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { leadingBeatPerFile } from '../support/in-process-beat.ts';

const GRACE_MS = 1_000;
const transport = new ControlledTransport();
// A 20 s horizon read in pages of ten rows: every path crosses the horizon and a page boundary.
const file = leadingBeatPerFile(transport, {
  graceMs: GRACE_MS,
  book: { horizonMs: 20_000, pageSize: 10, fillPageSize: 20 },
});

async function dbNow(): Promise<number> {
  const [row] = await file.db.sql<{ ms: number }[]>`select (extract(epoch from now()) * 1000)::float8 as ms`;
  return Number(row!.ms);
}

/** Sent within the grace of its slot, and nothing recorded missed for it. */
async function assertOnTime(name: string, slot: number): Promise<void> {
  const sent = await eventually(`${name} to be sent for its slot`, 30_000, () =>
    transport.of(name).find((e) => e.scheduledFor === slot),
  );
  assert.ok(sent.at - sent.fireAt < GRACE_MS, `${name} sent ${sent.at - sent.fireAt} ms after its slot`);
  const missed = await file.db.sql`
    select 1 from metronome.occurrences where schedule_name = ${name} and status = 'missed'`;
  assert.equal(missed.length, 0, `nothing of ${name} recorded missed`);
}

test('a schedule beyond the horizon, edited to fire soon, fires its first slot on time', async () => {
  await file.db.sql`
    insert into metronome.schedules (name, task, kind, every_ms, anchor_at, managed_by, next_fire_at)
    values ('far-then-near', 'tasks.h', 'interval', 3600000, now() + interval '1 hour', 'db',
            now() + interval '1 hour')`;
  // The slot 5 s after the edit: a grid anchored there, every 60 s.
  const [row] = await file.db.sql<{ anchor: number }[]>`
    update metronome.schedules set every_ms = 60000, anchor_at = date_trunc('second', now()) + interval '5 seconds'
     where name = 'far-then-near'
     returning (extract(epoch from anchor_at) * 1000)::float8 as anchor`;
  await assertOnTime('far-then-near', Number(row!.anchor));
});

test('a row inserted by SQL without next_fire_at fires on its first slot', async () => {
  const [row] = await file.db.sql<{ at: number }[]>`
    insert into metronome.schedules (name, task, kind, run_at, managed_by)
    values ('cold-once', 'tasks.h', 'clocked', date_trunc('second', now()) + interval '4 seconds', 'db')
    returning (extract(epoch from run_at) * 1000)::float8 as at`;
  await assertOnTime('cold-once', Number(row!.at));
});

test('a backlog after downtime larger than a page is all caught up', async () => {
  const names: string[] = [];
  for (let i = 0; i < 35; i++) names.push(`late-${i}`);
  // Hourly schedules whose stored next slot is 2 minutes old (as after a leader was down).
  await file.db.sql`
    insert into metronome.schedules (name, task, kind, every_ms, anchor_at, managed_by, catchup, next_fire_at)
    select n, 'tasks.h', 'interval', 3600000, date_trunc('second', now()) - interval '2 minutes', 'db',
           'latest', date_trunc('second', now()) - interval '2 minutes'
      from unnest(${names}::text[]) as n`;
  await eventually('every overdue schedule caught up once', 30_000, () =>
    names.every((n) => transport.of(n).length === 1),
  );
});

test('an edit that moves a schedule beyond the horizon stops it there', async () => {
  await file.db.sql`
    insert into metronome.schedules (name, task, kind, every_ms, overlap, managed_by)
    values ('leaver', 'tasks.h', 'interval', 1000, 'allow', 'db'), ('pulse', 'tasks.h', 'interval', 1000, 'allow', 'db')`;
  await eventually('leaver fires', 10_000, () => transport.of('leaver').length >= 2);
  await file.db.sql`
    update metronome.schedules set every_ms = 604800000, anchor_at = now() + interval '2 days'
     where name = 'leaver'`;
  const editedAt = await dbNow();
  const pulses = transport.of('pulse').length;
  await eventually('three more pulses', 15_000, () => transport.of('pulse').length >= pulses + 3);
  const after = transport.of('leaver').filter((e) => e.scheduledFor > editedAt + 1_000);
  assert.deepEqual(after, [], 'nothing sent for the old spec after the edit');
  const [next] = await file.db.sql<{ ms: number }[]>`
    select (extract(epoch from next_fire_at) * 1000)::float8 as ms from metronome.schedules where name = 'leaver'`;
  assert.ok(Number(next!.ms) > editedAt + 86_400_000, 'its next slot is the new spec’s, days ahead');
});
