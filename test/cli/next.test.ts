/** `beat next` as a user runs it: the real bin script in a child process. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/beat.js', import.meta.url));
function beat(...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('beat next', () => {
  test('a table with UTC, local time with offset, and the DST mark', () => {
    const r = beat(
      'next',
      '30 2 * * *',
      '--tz',
      'Europe/Berlin',
      '--after',
      '2026-03-27T00:00:00Z',
      '--count',
      '5',
    );
    assert.equal(r.code, 0, r.stderr);
    // The table, then (after a blank line) the DST policy and the clock changes it meets.
    const lines = (r.stdout.split('\n\n')[0] as string).trim().split('\n');
    assert.equal(lines.length, 6);
    assert.match(lines[0] as string, /UTC\s+Local \(Europe\/Berlin\)\s+DST/);
    assert.match(
      lines[3] as string,
      /2026-03-29T01:30:00.000Z\s+2026-03-29 03:30:00 \+02:00\s+shifted: 02:30:00 does not exist/,
    );
    assert.match(lines[4] as string, /2026-03-30T00:30:00.000Z\s+2026-03-30 02:30:00 \+02:00$/);
  });

  test('--json prints a JSON array of UTC ISO instants with milliseconds and nothing else', () => {
    const r = beat(
      'next',
      '30 2 * * *',
      '--tz',
      'Europe/Berlin',
      '--after',
      '2026-03-27T00:00:00Z',
      '--count',
      '3',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      '["2026-03-27T01:30:00.000Z","2026-03-28T01:30:00.000Z","2026-03-29T01:30:00.000Z"]\n',
    );
  });

  test('--every and --solar', () => {
    const every = beat('next', '--every', '15m', '--count', '3', '--json', '--after', '2026-01-01T00:07:00Z');
    assert.deepEqual(JSON.parse(every.stdout), [
      '2026-01-01T00:15:00.000Z',
      '2026-01-01T00:30:00.000Z',
      '2026-01-01T00:45:00.000Z',
    ]);
    const solar = beat(
      'next',
      '--solar',
      'sunset',
      '--lat',
      '52.52',
      '--lon',
      '13.405',
      '--count',
      '3',
      '--after',
      '2026-06-01T00:00:00Z',
    );
    assert.equal(solar.code, 0, solar.stderr);
    assert.match(solar.stdout, /2026-06-01T19:\d\d:\d\d.000Z/);
  });

  test("a bad spec prints the engine's message and exits 2", () => {
    const r = beat('next', '61 * * * *', '--tz', 'UTC');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cron.minute "61" is invalid/);
    assert.equal(r.stdout, '');
    const zone = beat('next', '0 0 * * *', '--tz', 'Mars/Olympus');
    assert.equal(zone.code, 2);
    assert.match(zone.stderr, /timezone "Mars\/Olympus" is invalid: unknown time zone/);
    const noTz = beat('next', '0 0 * * *');
    assert.equal(noTz.code, 2);
    assert.match(noTz.stderr, /needs --tz/);
    const lat = beat('next', '--solar', 'sunset', '--lat', '200', '--lon', '0');
    assert.equal(lat.code, 2);
    assert.match(lat.stderr, /latitude 200 is invalid/);
  });
});

describe('beat next --dst', () => {
  test('the default policy in words, and what it does at the next clock changes', () => {
    const r = beat(
      'next',
      '30 2 * * *',
      '--tz',
      'Europe/Berlin',
      '--after',
      '2026-03-27T00:00:00Z',
      '--count',
      '2',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /DST policy \(default\): a time that occurs twice runs at the first; a time that does not exist is shifted later by the gap\./,
    );
    assert.match(
      r.stdout,
      /2026-03-29 clocks \+01:00 → \+02:00: 02:30:00 does not exist: shifted, runs 03:30:00 \+02:00 \(01:30:00Z\)/,
    );
    assert.match(
      r.stdout,
      /2026-10-25 clocks \+02:00 → \+01:00: 02:30:00 occurs twice: first, runs 02:30:00 \+02:00 \(00:30:00Z\)/,
    );
  });

  test('a policy changes the fires and the marks: both passes of a repeated time, a missing one skipped', () => {
    const args = ['next', '30 2 * * *', '--tz', 'Europe/Berlin', '--dst', 'repeated=both,missing=skip'];
    const spring = beat(...args, '--after', '2026-03-28T12:00:00Z', '--count', '1', '--json');
    assert.deepEqual(JSON.parse(spring.stdout), ['2026-03-30T00:30:00.000Z']);
    const fall = beat(...args, '--after', '2026-10-24T12:00:00Z', '--count', '3');
    assert.equal(fall.code, 0, fall.stderr);
    assert.match(
      fall.stdout,
      /2026-10-25T00:30:00.000Z\s+2026-10-25 02:30:00 \+02:00\s+repeated hour \(DST fall-back\): first pass, runs at both/,
    );
    assert.match(
      fall.stdout,
      /2026-10-25T01:30:00.000Z\s+2026-10-25 02:30:00 \+01:00\s+repeated hour \(DST fall-back\): second pass, runs at both/,
    );
    assert.match(
      fall.stdout,
      /DST policy: a time that occurs twice runs at both; a time that does not exist is skipped\./,
    );
    assert.match(
      fall.stdout,
      /2027-03-28 clocks \+01:00 → \+02:00: 02:30:00 does not exist: skipped, no run/,
    );
  });

  test('a bad policy, or one on a spec that is not a crontab, is a one-line error', () => {
    const bad = beat('next', '30 2 * * *', '--tz', 'Europe/Berlin', '--dst', 'repeated=last');
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /dst\.repeated "last" is invalid: not a DST choice\. Allowed: first, second, both/,
    );
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    const interval = beat('next', '--every', '1h', '--dst', 'repeated=second');
    assert.equal(interval.code, 2);
    assert.match(interval.stderr, /--dst applies to a cron expression only/);
  });

  test('business calendars: the last business day of the month, moved fires marked, skipped slots listed', () => {
    const moved = beat(
      'next',
      '0 9 L * *',
      '--tz',
      'Europe/Berlin',
      '--exclude-weekdays',
      'sat,sun',
      '--exclude-days',
      '2026-12-31',
      '--on-excluded',
      'previous',
      '--after',
      '2026-12-01T00:00:00Z',
      '--count',
      '3',
    );
    assert.equal(moved.code, 0, moved.stderr);
    const lines = (moved.stdout.split('\n\n')[0] as string).trim().split('\n');
    assert.match(lines[0] as string, /DST \/ calendar$/);
    assert.match(
      lines[1] as string,
      /^1 +2026-12-30T08:00:00\.000Z +2026-12-30 09:00:00 \+01:00 +moved from 2026-12-31 09:00 \(calendar "command line"\)$/,
    );
    assert.match(lines[2] as string, /^2 +2027-01-29T08:00:00\.000Z .*moved from 2027-01-31 09:00/);
    assert.match(lines[3] as string, /^3 +2027-02-26T08:00:00\.000Z .*moved from 2027-02-28 09:00/);
    assert.match(moved.stdout, /moved to the previous allowed day, at the same local time/);
    const skipped = beat(
      'next',
      '0 9 * * *',
      '--tz',
      'Europe/Berlin',
      '--exclude-weekdays',
      'sat,sun',
      '--after',
      '2026-12-04T00:00:00Z',
      '--count',
      '2',
    );
    assert.equal(skipped.code, 0, skipped.stderr);
    const rows = (skipped.stdout.split('\n\n')[0] as string).trim().split('\n').slice(1);
    assert.deepEqual(
      rows.map((r) => `${r.split(/ {2,}/)[0]} ${r.match(/\d{4}-\d\d-\d\d(?=T)/)?.[0] ?? ''}`),
      ['1 2026-12-04', '- 2026-12-05', '- 2026-12-06', '2 2026-12-07'],
    );
    assert.match(rows[1] as string, /skipped \(calendar "command line"\)$/);
    const json = beat(
      'next',
      '0 9 * * *',
      '--tz',
      'UTC',
      '--exclude-weekdays',
      'sat,sun',
      '--after',
      '2026-12-04T00:00:00Z',
      '--count',
      '2',
      '--json',
    );
    assert.deepEqual(JSON.parse(json.stdout), ['2026-12-04T09:00:00.000Z', '2026-12-07T09:00:00.000Z']);
    const bad = beat('next', '--every', '1h', '--exclude-days', '2026-02-30');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /"2026-02-30" is invalid: not a civil date/);
  });
});
