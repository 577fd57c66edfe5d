/**
 * `beat skip` and `beat pause --until` (issue 19) at the command line: what they print, what
 * `beat show` and `beat list` say afterwards, and the one-line refusals (exit 2) naming the
 * schedule, the value and the fix.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { beat } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

let pg: TestDatabase;
let env: Record<string, string>;
before(async () => {
  pg = await createTestDatabase();
  env = { DATABASE_URL: pg.url };
  const added = await beat(
    ['add', 'ops.daily', '--task', 'ops.daily', '--cron', '0 9 * * *', '--tz', 'Europe/Berlin'],
    env,
  );
  assert.equal(added.code, 0, added.stderr);
});
after(async () => {
  await pg?.drop();
});

test('beat skip: the next N are named, shown by show and list, and cleared', async () => {
  const skipped = await beat(['skip', 'ops.daily', '--count', '2', '--reason', 'bank holiday'], env);
  assert.equal(skipped.code, 0, skipped.stderr);
  assert.match(skipped.stdout, /^skipping the next 2 of ops\.daily \(bank holiday\):/);
  assert.equal((skipped.stdout.match(/09:00:00 \+0[12]:00/g) ?? []).length, 2, skipped.stdout);
  const shown = await beat(['show', 'ops.daily'], env);
  assert.match(shown.stdout, /state\s+enabled, skipping the next 2 \(bank holiday\)/);
  assert.equal((shown.stdout.match(/skipped \(bank holiday\)/g) ?? []).length, 2, 'two next fires marked');
  const json = JSON.parse((await beat(['show', 'ops.daily', '--json'], env)).stdout);
  assert.deepEqual(
    json.nextFires.map((f: { skipped: boolean }) => f.skipped),
    [true, true, false, false, false],
  );
  assert.equal(json.skipCount, 2);
  assert.match((await beat(['list'], env)).stdout, /enabled, skipping the next 2 \(bank holiday\)/);
  const cleared = await beat(['skip', 'ops.daily', '--clear'], env);
  assert.equal(cleared.code, 0, cleared.stderr);
  assert.match(cleared.stdout, /cleared the skip of ops\.daily \(2 left, bank holiday\)/);
  const [row] = await pg.sql`select skip_count from metronome.schedules where name = 'ops.daily'`;
  assert.equal(row?.skip_count, 0);
});

test('beat skip refuses, in one line with exit 2: no reason, a count out of range, --clear with a count', async () => {
  for (const [args, message] of [
    [['skip', 'ops.daily'], /cannot skip "ops\.daily": give a reason \(--reason TEXT\)/],
    [['skip', 'ops.daily', '--count', '0', '--reason', 'x'], /count 0 is not a whole number from 1 to 10000/],
    [['skip', 'ops.daily', '--count', 'two', '--reason', 'x'], /--count "two" for "ops\.daily" is invalid/],
    [['skip', 'ops.daily', '--clear', '--count', '2'], /--clear takes no --count or --reason/],
    [['skip', 'nope', '--reason', 'x'], /no schedule named "nope"/],
  ] as const) {
    const run = await beat([...args], env);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stdout}`);
    assert.match(run.stderr, message);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  }
});

test('beat pause --until: resumes by itself at T, shown by show and list; a past T is refused', async () => {
  const paused = await beat(['pause', 'ops.daily', '--until', '2h', '--reason', 'quarter close'], env);
  assert.equal(paused.code, 0, paused.stderr);
  assert.match(
    paused.stdout,
    /^paused ops\.daily since \S+ until \S+Z \(resumes by itself\) \(quarter close\)/,
  );
  assert.match((await beat(['list'], env)).stdout, /paused until \S+Z \(quarter close\)/);
  const shown = await beat(['show', 'ops.daily'], env);
  assert.match(shown.stdout, /paused\s+since \S+, resumes by itself at \S+Z/);
  const json = JSON.parse((await beat(['show', 'ops.daily', '--json'], env)).stdout);
  const [row] = await pg.sql<{ ms: number }[]>`
    select (extract(epoch from paused_until - paused_at) * 1000)::float8 as ms from metronome.schedules where name = 'ops.daily'`;
  assert.ok(Math.abs(Number(row?.ms) - 7_200_000) < 5_000, String(row?.ms));
  assert.equal(typeof json.pausedUntil, 'string');
  const past = await beat(['pause', 'ops.daily', '--until', '2020-01-01T00:00:00Z'], env);
  assert.equal(past.code, 2);
  assert.match(
    past.stderr,
    /cannot pause "ops\.daily" until 2020-01-01T00:00:00\.000Z: that is not in the future/,
  );
  const resumed = await beat(['resume', 'ops.daily'], env);
  assert.equal(resumed.code, 0, resumed.stderr);
  const [after] = await pg.sql`select paused_until from metronome.schedules where name = 'ops.daily'`;
  assert.equal(after?.paused_until, null);
});
