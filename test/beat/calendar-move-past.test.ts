/**
 * A calendar edit that moves a schedule's next fire to an instant already past (on_excluded =
 * previous) does not lose the slot: the leader's cursor goes back to it and the catch-up policy
 * decides — sent late here (`latest`, within the window) — with a ledger row either way (found by
 * review: no send, no row, next_fire_at jumped past it).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { leadingBeatPerFile } from '../support/in-process-beat.ts';

const DAY = 86_400_000;
const transport = new ControlledTransport();
const file = leadingBeatPerFile(transport, { claimAheadMs: 5_000 });

test('a calendar edit moving the next fire to a past instant: the slot is sent late, with its row', async () => {
  await file.db.sql`insert into metronome.calendars (name) values ('late-holidays')`;
  const [now] = await file.db.sql<{ ms: number }[]>`select (extract(epoch from now()) * 1000)::float8 as ms`;
  const moved = Math.floor((Number(now?.ms) - 120_000) / 1000) * 1000; // today's time, 2 minutes ago
  const tomorrow = moved + DAY;
  await file.db.sql`
    insert into metronome.schedules (name, task, kind, every_ms, anchor_at, calendars, on_excluded, next_fire_at)
    values ('every.other.day', 't', 'interval', ${2 * DAY}, ${new Date(tomorrow)}, '{late-holidays}', 'previous',
            ${new Date(tomorrow)})`;
  const day = new Date(tomorrow).toISOString().slice(0, 10);
  await file.db.sql`insert into metronome.calendar_days (calendar, first_day, last_day, label)
                    values ('late-holidays', ${day}, ${day}, 'declared late')`;
  const row = await eventually('the moved slot in the ledger', 15_000, async () => {
    const [r] = await file.db.sql<{ status: string; scheduled_for: Date }[]>`
      select status, scheduled_for from metronome.occurrences where schedule_name = 'every.other.day'`;
    return r && r.status !== 'claimed' ? r : undefined;
  });
  assert.equal(row.scheduled_for.getTime(), moved, 'the row is the moved fire');
  assert.equal(row.status, 'enqueued', 'sent late under catch-up latest');
  assert.equal(transport.of('every.other.day').length, 1);
});
