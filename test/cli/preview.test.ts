/**
 * `beat add --preview` (bin/beat.js, as a user runs it) against a migrated database: it shows the
 * next fires the schedule would have (UTC, local, DST marks) and what would run at once, and writes
 * nothing — no schedule row, no audit record.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { beat, beatChild } from '../support/cli.ts';
import { createMigratedDatabase } from '../support/migrated.ts';
import type { TestDatabase } from '../support/pg.ts';

let pg: TestDatabase;
let env: Record<string, string>;

before(async () => {
  pg = await createMigratedDatabase();
  env = { DATABASE_URL: pg.url };
});
after(async () => {
  await pg?.drop();
});

/** Rows in the two tables a write would touch. */
async function written(): Promise<{ schedules: number; audit: number }> {
  const [row] = await pg.sql<{ schedules: number; audit: number }[]>`
    select (select count(*)::int from metronome.schedules) as schedules,
           (select count(*)::int from metronome.audit_log) as audit`;
  return row!;
}

// Starts in the future, so the fires do not depend on today: 02:30 Berlin does not exist on
// 2031-03-30 (clocks go forward), and the default policy shifts it to 03:30.
const ADD = [
  'add',
  'preview.nightly',
  '--task',
  'reports.nightly',
  '--cron',
  '30 2 * * *',
  '--tz',
  'Europe/Berlin',
  '--start-at',
  '2031-03-28T00:00:00Z',
  '--preview',
];

test('beat add --preview prints the next fires after the change, local and UTC with DST marks; writes nothing', async () => {
  const shown = await beatChild(ADD, { env, timeoutMs: 60_000 });
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /preview of preview\.nightly \(nothing written\)/);
  assert.match(shown.stdout, /before\s+none \(new, or invalid\)/);
  for (const [utc, local] of [
    ['2031-03-28T01:30:00.000Z', '2031-03-28 02:30:00 \\+01:00'],
    ['2031-03-29T01:30:00.000Z', '2031-03-29 02:30:00 \\+01:00'],
    ['2031-03-30T01:30:00.000Z', '2031-03-30 03:30:00 \\+02:00'],
    ['2031-03-31T00:30:00.000Z', '2031-03-31 02:30:00 \\+02:00'],
  ]) {
    assert.match(shown.stdout, new RegExp(`${utc}\\s+${local}`), `the preview lists the fire at ${utc}`);
  }
  assert.match(
    shown.stdout,
    /2031-03-30 03:30:00 \+02:00\s+shifted: 02:30:00 does not exist \(DST gap\)/,
    'the shifted fire carries its DST mark',
  );
  assert.match(shown.stdout, /at once if applied now: nothing runs \(created/);
  assert.deepEqual(await written(), { schedules: 0, audit: 0 }, 'the preview wrote a row or an audit record');
});

test('beat add --preview --json: the same preview as data; still nothing written', async () => {
  const shown = await beat([...ADD, '--json'], env);
  assert.equal(shown.code, 0, shown.stderr);
  const { preview } = JSON.parse(shown.stdout);
  assert.equal(preview.name, 'preview.nightly');
  assert.equal(preview.zone, 'Europe/Berlin');
  assert.equal(preview.before, null);
  assert.equal(preview.after.length, 5);
  assert.equal(preview.after[2].utc, '2031-03-30T01:30:00.000Z');
  assert.notEqual(preview.after[2].dst, '', 'the fire DST moved is marked');
  assert.equal(preview.after[1].dst, '');
  assert.deepEqual(await written(), { schedules: 0, audit: 0 });
  // Without --preview the same command writes the row and its audit record.
  const added = await beat(
    ADD.filter((a) => a !== '--preview'),
    env,
  );
  assert.equal(added.code, 0, added.stderr);
  assert.deepEqual(await written(), { schedules: 1, audit: 1 });
  // Now that it exists, a preview is refused as the add would be, not shown as a create.
  const again = await beat(ADD, env);
  assert.equal(again.code, 2, again.stdout);
  assert.match(again.stderr, /a schedule named "preview\.nightly" already exists/);
  assert.deepEqual(await written(), { schedules: 1, audit: 1 });
});

test('beat add --preview refuses what beat add refuses, naming the flag', async () => {
  const bad = await beat(
    [
      'add',
      'preview.bad',
      '--task',
      't',
      '--cron',
      '30 2 * * *',
      '--tz',
      'UTC',
      '--dst',
      'repeated=third',
      '--preview',
    ],
    env,
  );
  assert.equal(bad.code, 2, bad.stdout);
  assert.match(bad.stderr, /cannot add "preview\.bad":\n {2}--dst: .*first, second, both/);
  assert.equal(bad.stdout, '');
});
