/**
 * Business calendars, live, on real Postgres with a leading beat: an edit of a calendar applies to
 * the schedules that name it at once. A slot claimed ahead of its instant that the calendar now
 * excludes is taken back, recorded `skipped` with the calendar and the day, and never
 * sent; the schedule's next fire moves to the next allowed day. A calendar that excludes today
 * stops a frequent schedule; allowing today again brings it back within seconds.
 *
 * Every wait is for a state, with a bound.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { leadingBeatPerFile } from '../support/in-process-beat.ts';

const LOOKAHEAD_MS = 60_000;
const DAY_MS = 86_400_000;
const transport = new ControlledTransport();
const file = leadingBeatPerFile(transport, { claimAheadMs: LOOKAHEAD_MS });

async function dbNow(): Promise<number> {
  const [row] = await file.db.sql<{ ms: number }[]>`select (extract(epoch from now()) * 1000)::float8 as ms`;
  return Number(row?.ms);
}

async function rows(name: string) {
  return file.db.sql<{ status: string; error: string | null; ms: number }[]>`
    select status, error, (extract(epoch from scheduled_for) * 1000)::float8 as ms
      from metronome.occurrences where schedule_name = ${name} order by scheduled_for`;
}

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

test('a calendar edited between claim and instant: the claim is taken back, recorded, never sent', async () => {
  await file.db.sql`insert into metronome.calendars (name) values ('live-holidays')`;
  const at = Math.ceil(((await dbNow()) + 6_000) / 1000) * 1000;
  await file.db.sql`
    insert into metronome.schedules (name, task, kind, every_ms, anchor_at, calendars, next_fire_at)
    values ('live.hourly', 't', 'interval', 3600000, ${new Date(at)}, '{live-holidays}', ${new Date(at)})`;
  await eventually(
    'live.hourly claimed ahead of its instant',
    10_000,
    async () => (await rows('live.hourly')).length > 0,
  );
  assert.equal((await rows('live.hourly'))[0]?.status, 'claimed');
  // The day of the slot (UTC: an interval's days are UTC days) becomes a holiday.
  const day = utcDay(at);
  await file.db.sql`
    insert into metronome.calendar_days (calendar, first_day, last_day, label)
    values ('live-holidays', ${day}, ${day}, 'Snow day')`;
  await eventually(
    'the claim taken back',
    10_000,
    async () => (await rows('live.hourly'))[0]?.status !== 'claimed',
  );
  const [row] = await rows('live.hourly');
  assert.equal(row?.status, 'skipped');
  assert.match(
    row?.error ?? '',
    new RegExp(
      `^skipped: taken back, calendar "live-holidays" now excludes ${day} \\(Snow day\\) after this occurrence was claimed ahead`,
    ),
  );
  await eventually('its instant passed', 15_000, async () => (await dbNow()) > at + 1_500);
  assert.equal(transport.of('live.hourly').length, 0, 'never sent');
  // Re-planned: its next fire is on the next allowed day.
  const nextDay = (Math.floor(at / DAY_MS) + 1) * DAY_MS;
  await eventually('the next fire moved past the holiday', 10_000, async () => {
    const [s] = await file.db.sql<{ next: Date | null; invalid: string | null }[]>`
      select next_fire_at as next, invalid_reason as invalid from metronome.schedules where name = 'live.hourly'`;
    assert.equal(s?.invalid, null);
    return s?.next instanceof Date && s.next.getTime() >= nextDay;
  });
});

test('a calendar that excludes today stops a schedule; allowing today again brings it back', async () => {
  const today = new Date(await dbNow()).getUTCDay();
  await file.db.sql`insert into metronome.calendars (name, weekdays) values ('live-today', ${[today]})`;
  await file.db.sql`
    insert into metronome.schedules (name, task, kind, every_ms, calendars, overlap)
    values ('live.often', 't', 'interval', 1000, '{live-today}', 'allow')`;
  const start = await dbNow();
  await eventually('three of its slots passed', 15_000, async () => (await dbNow()) > start + 3_500);
  assert.equal(transport.of('live.often').length, 0, 'nothing sent on an excluded day');
  const [before] = await file.db.sql<{ next: Date | null }[]>`
    select next_fire_at as next from metronome.schedules where name = 'live.often'`;
  assert.ok(
    before?.next && before.next.getTime() >= (Math.floor(start / DAY_MS) + 1) * DAY_MS,
    'next fire tomorrow',
  );
  await file.db.sql`update metronome.calendars set weekdays = '{}' where name = 'live-today'`;
  await eventually('fires again once today is allowed', 15_000, () => transport.of('live.often').length >= 2);
  const statuses = new Set((await rows('live.often')).map((r) => r.status));
  assert.ok(!statuses.has('skipped'), 'nothing recorded skipped: the calendar allows those slots now');
});
