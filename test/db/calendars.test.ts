/**
 * Business calendars as rows (migration 0014, src/db/sql/calendars.ts): a schedule that names a
 * calendar fires on its allowed days only; one that names no such calendar is quarantined naming
 * the column and the fix; any change to a calendar or its days is an edit (a new version, a
 * notification, next_fire_at to recompute) of exactly the schedules that name it, once per
 * statement; the constraints refuse bad days.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  calendarLookup,
  insertCalendarDays,
  readCalendars,
  removeCalendarDay,
  upsertCalendar,
} from '../../src/db/sql/calendars.ts';
import { loadSchedules } from '../../src/db/store.ts';
import { migratedDatabasePerFile } from '../support/migrated.ts';

const file = migratedDatabasePerFile();

async function versions(): Promise<Record<string, { version: number; revision: number; next: Date | null }>> {
  const rows = await file.db.sql`
    select name, version, calendar_revision, next_fire_at from metronome.schedules order by name`;
  return Object.fromEntries(
    rows.map((r) => [
      r.name,
      { version: Number(r.version), revision: Number(r.calendar_revision), next: r.next_fire_at },
    ]),
  );
}

test('a schedule naming a calendar that does not exist is quarantined naming the column and the fix', async () => {
  await file.db.sql`
    insert into metronome.schedules (name, task, kind, cron, timezone, calendars, on_excluded) values
      ('cal.missing', 't', 'crontab', '0 9 * * *', 'Europe/Berlin', '{nope}', 'skip')`;
  const { invalid } = await loadSchedules(file.database);
  const found = invalid.find((i) => i.record.name === 'cal.missing');
  assert.ok(found, 'quarantined');
  assert.match(
    found.reason,
    /^column calendars: calendars\[0\] "nope" is invalid: no calendar has this name/,
  );
  assert.match(found.reason, /beat calendar/);
  // Creating the calendar is an edit of the schedule: it is re-read and valid again.
  await upsertCalendar(file.database.db, 'nope', {
    weekdays: [0, 6],
    description: null,
    managedBy: 'db',
    source: null,
  });
  const after = await loadSchedules(file.database);
  const loaded = after.schedules.find((s) => s.record.name === 'cal.missing');
  assert.ok(loaded, 'valid again');
  const day = new Date(loaded.nextFireAt as number).getUTCDay();
  assert.ok(day !== 0 && day !== 6, 'its next fire is on a weekday');
});

test('an edit of a calendar or its days is one edit of exactly the schedules that name it', async () => {
  await upsertCalendar(file.database.db, 'holidays', {
    weekdays: [],
    description: 'public holidays',
    managedBy: 'db',
    source: null,
  });
  await file.db.sql`
    insert into metronome.schedules (name, task, kind, every_ms, calendars, next_fire_at) values
      ('uses.holidays', 't', 'interval', 3600000, '{holidays}', now() + interval '1 hour'),
      ('uses.nothing',  't', 'interval', 3600000, '{}', now() + interval '1 hour')`;
  const before = await versions();
  // 300 days in one statement: one edit, not 300.
  const days = Array.from({ length: 300 }, (_, i) => {
    const day = new Date(Date.UTC(2031, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
    return { from: day, to: day, label: `day ${i}` };
  });
  assert.equal(await insertCalendarDays(file.database.db, 'holidays', days), 300);
  const afterInsert = await versions();
  assert.equal(afterInsert['uses.holidays']!.revision, before['uses.holidays']!.revision + 1);
  assert.equal(afterInsert['uses.holidays']!.version, before['uses.holidays']!.version + 1);
  assert.equal(afterInsert['uses.holidays']!.next, null, 'next_fire_at cleared, to be recomputed');
  assert.deepEqual(afterInsert['uses.nothing'], before['uses.nothing']);
  // A description alone is not an edit of the schedules.
  await file.db.sql`update metronome.calendars set description = 'renamed' where name = 'holidays'`;
  assert.equal((await versions())['uses.holidays']!.revision, afterInsert['uses.holidays']!.revision);
  // Taking a day out of a range splits it; the calendar reads back as what remains.
  await insertCalendarDays(file.database.db, 'holidays', [
    { from: '2032-07-01', to: '2032-07-10', label: 'summer' },
  ]);
  assert.equal(await removeCalendarDay(file.database.db, 'holidays', '2032-07-05'), true);
  const stored = (await readCalendars(file.database.db, ['holidays'])).get('holidays');
  assert.deepEqual(
    stored?.spec.days.filter((d) => d.from >= '2032-07-01'),
    [
      { from: '2032-07-01', to: '2032-07-04', label: 'summer' },
      { from: '2032-07-06', to: '2032-07-10', label: 'summer' },
    ],
  );
  const { lookup } = await calendarLookup(file.database.db, ['holidays']);
  const calendar = lookup('holidays');
  assert.ok(calendar);
  assert.equal(calendar.excludes(Date.UTC(2032, 6, 5) / 86_400_000), false);
  assert.equal(calendar.excludes(Date.UTC(2032, 6, 6) / 86_400_000), true);
  // Deleting the calendar: its schedule is quarantined on its next read.
  const revision = (await versions())['uses.holidays']!.revision;
  await file.db.sql`delete from metronome.calendars where name = 'holidays'`;
  assert.equal((await versions())['uses.holidays']!.revision, revision + 1);
  const { invalid } = await loadSchedules(file.database);
  assert.ok(invalid.some((i) => i.record.name === 'uses.holidays' && /calendars/.test(i.reason)));
  assert.equal(
    (await file.db.sql`select count(*)::int as n from metronome.calendar_days where calendar = 'holidays'`)[0]
      ?.n,
    0,
    'its days went with it',
  );
});

test('the constraints refuse a range that ends before it starts, an unknown weekday or action', async () => {
  await upsertCalendar(file.database.db, 'c', {
    weekdays: [],
    description: null,
    managedBy: 'db',
    source: null,
  });
  await assert.rejects(
    file.db
      .sql`insert into metronome.calendar_days (calendar, first_day, last_day) values ('c', '2030-01-02', '2030-01-01')`,
    /last_day_not_before_first_day/,
  );
  await assert.rejects(
    file.db
      .sql`insert into metronome.calendar_days (calendar, first_day, last_day) values ('nope2', '2030-01-01', '2030-01-01')`,
    /foreign key/,
  );
  await assert.rejects(
    file.db.sql`update metronome.calendars set weekdays = '{7}' where name = 'c'`,
    /weekdays_0_to_6/,
  );
  await assert.rejects(
    file.db
      .sql`insert into metronome.schedules (name, task, kind, every_ms, on_excluded) values ('x', 't', 'interval', 60000, 'later')`,
    /on_excluded_is_known/,
  );
  await assert.rejects(
    file.db
      .sql`insert into metronome.schedules (name, task, kind, every_ms, calendars) values ('y', 't', 'interval', 60000, '{c,NULL}')`,
    /calendars_has_no_nulls/,
  );
});
