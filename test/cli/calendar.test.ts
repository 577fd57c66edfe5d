/**
 * `beat calendar ...` against a migrated database: import a public-holiday `.ics` feed, list and
 * show it, add and remove days, set weekdays, name it from `beat add --calendars` (whose next fires
 * then skip the excluded days), refuse to delete it while named, refuse code-owned calendars, and
 * refuse a bad file in one line.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { beat } from '../support/cli.ts';
import { createMigratedDatabase } from '../support/migrated.ts';
import type { TestDatabase } from '../support/pg.ts';

const FEED = fileURLToPath(new URL('../import/fixtures/holidays.ics', import.meta.url));
let pg: TestDatabase;
let env: Record<string, string>;

before(async () => {
  pg = await createMigratedDatabase();
  env = { DATABASE_URL: pg.url };
});
after(async () => {
  await pg?.drop();
});

test('import a holiday feed, list and show it', async () => {
  const imported = await beat(
    ['calendar', 'import', 'holidays-de', FEED, '--until', '2030-12-31', '--json'],
    env,
  );
  assert.equal(imported.code, 0, imported.stderr);
  const edit = JSON.parse(imported.stdout);
  assert.equal(edit.created, true);
  assert.equal(edit.events, 6);
  // Importing again replaces: the same days, nothing added.
  const again = await beat(
    ['calendar', 'import', 'holidays-de', FEED, '--until', '2030-12-31', '--json'],
    env,
  );
  assert.equal(JSON.parse(again.stdout).days, edit.days);
  const show = await beat(['calendar', 'show', 'holidays-de', '--json'], env);
  const detail = JSON.parse(show.stdout);
  assert.equal(detail.description, 'Feiertage Deutschland');
  assert.ok(
    detail.days.some(
      (d: { from: string; label?: string }) => d.from === '2029-12-25' && d.label === 'Weihnachten',
    ),
  );
  const list = await beat(['calendar', 'list'], env);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /holidays-de\s+db\s+-\s+\d+/);
});

test('a schedule naming calendars skips their days; deleting a named calendar is refused', async () => {
  assert.equal((await beat(['calendar', 'weekdays', 'weekends', 'sat,sun'], env)).code, 0);
  const added = await beat(
    [
      'add',
      'cal.daily',
      '--task',
      't',
      '--cron',
      '0 9 * * *',
      '--tz',
      'Europe/Berlin',
      '--start-at',
      '2030-12-20T00:00:00Z',
      '--calendars',
      'weekends,holidays-de',
      '--json',
    ],
    env,
  );
  assert.equal(added.code, 0, added.stderr);
  const fires = JSON.parse((await beat(['show', 'cal.daily', '--json'], env)).stdout);
  const days = (fires.nextFires as Array<{ at: string }>).map((f) => f.at.slice(0, 10));
  // 2030-12-21/22 and 28/29 are weekends, 25/26 Christmas.
  assert.deepEqual(days, ['2030-12-20', '2030-12-23', '2030-12-24', '2030-12-27', '2030-12-30']);
  assert.ok(
    (fires.skippedFires as Array<{ calendar: string }>).some((s) =>
      /^2030-12-25 09:00:00 \+01:00 skipped \(calendar "holidays-de": Weihnachten\)$/.test(s.calendar),
    ),
    JSON.stringify(fires.skippedFires),
  );
  // --preview: each schedule naming the calendar, its fires before and after; nothing written.
  const calPreview = await beat(
    ['calendar', 'add-day', 'holidays-de', '2030-12-23', '--label', 'Bridge', '--preview'],
    env,
  );
  assert.equal(calPreview.code, 0, calPreview.stderr);
  assert.match(calPreview.stdout, /^cal\.daily$/m);
  assert.match(calPreview.stdout, /before\s+2030-12-20T08:00:00\.000Z/);
  assert.match(calPreview.stdout, /after\s+2030-12-20T08:00:00\.000Z[^\n]*\n\s+2030-12-24T08:00:00\.000Z/);
  assert.match(
    calPreview.stdout,
    /calendar after the edit: 2030-12-23 09:00:00 \+01:00 skipped \(calendar "holidays-de": Bridge\)/,
  );
  assert.match(calPreview.stdout, /nothing written/);
  const unchanged = JSON.parse((await beat(['calendar', 'show', 'holidays-de', '--json'], env)).stdout);
  assert.ok(
    !unchanged.days.some((d: { from: string }) => d.from === '2030-12-23'),
    'the preview wrote nothing',
  );
  const refused = await beat(['calendar', 'delete', 'weekends'], env);
  assert.notEqual(refused.code, 0);
  assert.match(
    refused.stderr,
    /calendar "weekends" is named by "cal\.daily": take it out of their calendars first, or delete with --force/,
  );
  // Allowing 2030-12-25 again: the schedule fires on it.
  const removed = await beat(['calendar', 'remove-day', 'holidays-de', '2030-12-25'], env);
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, /allows 2030-12-25 again; re-planned: cal\.daily/);
  const after = JSON.parse((await beat(['show', 'cal.daily', '--json'], env)).stdout);
  assert.ok((after.nextFires as Array<{ at: string }>).some((f) => f.at.startsWith('2030-12-25')));
  // beat edit changes them like any field; --preview marks the fires a calendar moves.
  const preview = await beat(['edit', 'cal.daily', '--on-excluded', 'next', '--preview'], env);
  assert.equal(preview.code, 0, preview.stderr);
  assert.match(preview.stdout, /moved from 2030-12-21 09:00 \(calendar "weekends"\)/);
  const edited = await beat(['edit', 'cal.daily', '--calendars', 'holidays-de', '--json'], env);
  assert.equal(edited.code, 0, edited.stderr);
  assert.deepEqual(JSON.parse(edited.stdout).schedule.calendars, ['holidays-de']);
  assert.equal((await beat(['edit', 'cal.daily', '--calendars', 'weekends,holidays-de'], env)).code, 0);
  // The edit is recorded on the schedule it changed: who, which calendar, what, the version it left.
  const [audit] = await pg.sql<
    { actor: string; detail: { calendar: string; change: string; day: string } }[]
  >`
    select actor, detail from metronome.audit_log where schedule_name = 'cal.daily' and action = 'calendar'
    order by id desc limit 1`;
  assert.equal(audit?.detail.calendar, 'holidays-de');
  assert.equal(audit?.detail.change, 'remove-day');
  assert.equal(audit?.detail.day, '2030-12-25');
  assert.match(audit?.actor ?? '', /@/);
  const addDay = await beat(
    ['calendar', 'add-day', 'holidays-de', '2030-12-30..2030-12-31', '--label', 'Closing'],
    env,
  );
  assert.equal(addDay.code, 0, addDay.stderr);
  const closed = JSON.parse((await beat(['show', 'cal.daily', '--json'], env)).stdout);
  assert.ok(!(closed.nextFires as Array<{ at: string }>).some((f) => f.at.startsWith('2030-12-3')));
});

test('bad input is refused in one line: a bad file, a bad day, an unknown calendar, a code-owned one', async () => {
  const notIcs = path.join(mkdtempSync(path.join(tmpdir(), 'metronome-ics-')), 'holidays.ics');
  writeFileSync(notIcs, 'Date,Holiday\n2030-01-01,New Year\n');
  const bad = await beat(['calendar', 'import', 'x', notIcs], env);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /holidays\.ics: not an iCalendar file: no BEGIN:VCALENDAR \(is it an \.ics file\?\)\n$/,
  );
  const day = await beat(['calendar', 'add-day', 'x', '2030-02-30'], env);
  assert.notEqual(day.code, 0);
  assert.match(day.stderr, /"2030-02-30" is invalid: not a civil date/);
  const missing = await beat(['calendar', 'show', 'nope'], env);
  assert.match(missing.stderr, /no calendar named "nope"/);
  const unknown = await beat(
    ['add', 'cal.ghost', '--task', 't', '--every', '1h', '--calendars', 'ghost'],
    env,
  );
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /--calendars: calendars\[0\] "ghost" is invalid: no calendar has this name/);
  await pg.sql`insert into metronome.calendars (name, managed_by, source) values ('owned', 'code', 'schedules/cal.ts')`;
  const owned = await beat(['calendar', 'add-day', 'owned', '2030-01-01'], env);
  assert.notEqual(owned.code, 0);
  assert.match(
    owned.stderr,
    /calendar "owned" is declared in code \(schedules\/cal\.ts\): edit it there and run 'beat sync'/,
  );
});
