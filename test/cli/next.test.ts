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
    const lines = r.stdout.trim().split('\n');
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
