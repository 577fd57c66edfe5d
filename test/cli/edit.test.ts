/**
 * `beat edit NAME [options] [--preview] [--if-version N]` against a migrated database: one field of
 * a database-owned schedule changed from a terminal, through the API's patch (validated the same,
 * refused the same for a schedule declared in code, recorded in the audit log); `--preview` shows
 * the fires before and after and writes nothing.
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
  // Starts in the future, so the fires do not depend on today: 02:30 Berlin does not exist on
  // 2031-03-30 (clocks go forward).
  const added = await beat(
    [
      'add',
      'ed.nightly',
      '--task',
      'reports.nightly',
      '--cron',
      '30 2 * * *',
      '--tz',
      'Europe/Berlin',
      '--start-at',
      '2031-03-28T00:00:00Z',
    ],
    env,
  );
  assert.equal(added.code, 0, added.stderr);
  assert.equal((await beat(['add', 'ed.every', '--task', 't', '--every', '1m'], env)).code, 0);
  await pg.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by, source)
               values ('ed.code', 't', 'interval', 60000, 'code', 'schedules/owned.ts')`;
});
after(async () => {
  await pg?.drop();
});

const run = (...args: string[]) => beat(args, env);

/** The row's version and DST policy, and the audit records of the name. */
async function footprint(name: string) {
  const [row] = await pg.sql<{ version: number; dst: string | null; queue: string | null }[]>`
    select version::int as version, dst_policy as dst, queue from metronome.schedules where name = ${name}`;
  const audit = await pg.sql<{ action: string; via: string; detail: string }[]>`
    select action, via, detail::text as detail from metronome.audit_log where schedule_name = ${name} order by id`;
  return { row: row ? { ...row } : null, audit: audit.map((a) => ({ ...a, detail: JSON.parse(a.detail) })) };
}

test('beat edit --dst --preview: the fires before and after, DST marked; nothing written', async () => {
  const untouched = await footprint('ed.nightly');
  const shown = await beatChild(['edit', 'ed.nightly', '--dst', 'missing=skip', '--preview'], {
    env,
    timeoutMs: 60_000,
  });
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /preview of ed\.nightly \(nothing written\): would update schedule/);
  assert.match(shown.stdout, /before\s+2031-03-28T01:30:00\.000Z/);
  assert.match(
    shown.stdout,
    /2031-03-30T01:30:00\.000Z\s+2031-03-30 03:30:00 \+02:00\s+shifted: 02:30:00 does not exist/,
    'before: the fire in the gap is shifted',
  );
  const afterPart = shown.stdout.slice(shown.stdout.indexOf('after'));
  assert.ok(
    !afterPart.includes('2031-03-30T01:30:00.000Z'),
    `after: skip drops the fire in the gap:\n${shown.stdout}`,
  );
  assert.deepEqual(await footprint('ed.nightly'), untouched, 'a preview wrote');
});

test('beat edit --dst: only the DST policy changes (the rest of the spec is kept), version and audit record move', async () => {
  const edited = await run('edit', 'ed.nightly', '--dst', 'repeated=second', '--if-version', '1');
  assert.equal(edited.code, 0, edited.stderr);
  assert.match(
    edited.stdout,
    /edited ed\.nightly \(version 2\): changed schedule; next fire 2031-03-28 02:30:00 \+01:00/,
  );
  const { row, audit } = await footprint('ed.nightly');
  assert.deepEqual(row, { version: 2, dst: 'repeated=second,missing=shift', queue: null });
  assert.deepEqual(
    audit.map((a) => [a.action, a.via, a.detail.changed]),
    [
      ['create', 'cli', undefined],
      ['update', 'cli', ['schedule']],
    ],
  );
  const [spec] = await pg.sql<{ cron: string; timezone: string }[]>`
    select cron, timezone from metronome.schedules where name = 'ed.nightly'`;
  assert.deepEqual({ ...spec }, { cron: '30 2 * * *', timezone: 'Europe/Berlin' });
});

test('beat edit --queue --json: one field; the same value again is unchanged and records nothing', async () => {
  const edited = await run('edit', 'ed.nightly', '--queue', 'reports', '--json');
  assert.equal(edited.code, 0, edited.stderr);
  const json = JSON.parse(edited.stdout);
  assert.equal(json.action, 'updated');
  assert.deepEqual(json.changed, ['queue']);
  assert.equal(json.schedule.version, 3);
  assert.equal(json.schedule.queue, 'reports');
  const again = await run('edit', 'ed.nightly', '--queue', 'reports');
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /ed\.nightly unchanged \(version 3\)/);
  assert.equal((await footprint('ed.nightly')).audit.length, 3);
});

test('beat edit refuses: code-owned (as the API says), a moved version, a bad value by flag, nothing to change', async () => {
  const code = await run('edit', 'ed.code', '--queue', 'x');
  assert.equal(code.code, 2);
  assert.equal(
    code.stderr,
    `beat: schedule "ed.code" is declared in code (schedules/owned.ts): edit it there and run 'beat sync'; only database-owned schedules are edited here\n`,
  );
  const codePreview = await run('edit', 'ed.code', '--queue', 'x', '--preview');
  assert.equal(codePreview.code, 2);
  assert.match(codePreview.stderr, /declared in code/);
  const moved = await run('edit', 'ed.nightly', '--queue', 'x', '--if-version', '1');
  assert.equal(moved.code, 2);
  assert.match(moved.stderr, /changed since version 1 \(now 3\): update schedule by .* \(cli\)/);
  const bad = await run('edit', 'ed.nightly', '--priority', '12', '--dst', 'repeated=third');
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /cannot edit "ed\.nightly":\n {2}(--priority|--dst): .*\n {2}(--priority|--dst): /,
  );
  const interval = await run('edit', 'ed.every', '--dst', 'repeated=both');
  assert.equal(interval.code, 2);
  assert.match(
    interval.stderr,
    /--dst changes the spec of a crontab schedule, but "ed\.every" is an interval schedule/,
  );
  const nothing = await run('edit', 'ed.nightly');
  assert.equal(nothing.code, 2);
  assert.match(nothing.stderr, /nothing to change/);
  const unknown = await run('edit', 'ed.nope', '--queue', 'x');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no schedule named "ed\.nope"/);
  const { row, audit } = await footprint('ed.nightly');
  assert.equal(row?.version, 3);
  assert.equal(audit.length, 3, 'a refused edit recorded something');
});

test('beat edit --every: a new spec of another kind replaces the old one', async () => {
  const edited = await run('edit', 'ed.nightly', '--every', '1h', '--preview', '--json');
  assert.equal(edited.code, 0, edited.stderr);
  const json = JSON.parse(edited.stdout);
  assert.equal(json.action, 'updated');
  assert.equal(json.preview.zone, 'UTC');
  assert.deepEqual(
    json.preview.after.slice(0, 2).map((f: { utc: string }) => f.utc),
    ['2031-03-28T00:00:00.000Z', '2031-03-28T01:00:00.000Z'],
  );
  assert.equal((await footprint('ed.nightly')).row?.version, 3);
});

test('beat add and edit --exclusion-group: set, shown by beat show, refused with overlap allow, cleared with none', async () => {
  const added = await run(
    'add',
    'ed.vacuum',
    '--task',
    'db.vacuum',
    '--every',
    '1h',
    '--exclusion-group',
    'nightly-db',
  );
  assert.equal(added.code, 0, added.stderr);
  const group = async () =>
    (
      await pg.sql<
        { g: string | null }[]
      >`select exclusion_group as g from metronome.schedules where name = 'ed.vacuum'`
    )[0]?.g;
  assert.equal(await group(), 'nightly-db');
  const shown = await run('show', 'ed.vacuum');
  assert.match(shown.stdout, /exclusion group\s+nightly-db \(free\)/);
  const allow = await run('edit', 'ed.vacuum', '--overlap', 'allow');
  assert.equal(allow.code, 2);
  assert.match(
    allow.stderr,
    /--exclusion-group: "nightly-db": a schedule of an exclusion group never overlaps/,
  );
  const bad = await run('edit', 'ed.vacuum', '--exclusion-group', 'night db');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--exclusion-group: "night db" is not a group name/);
  const cleared = await run('edit', 'ed.vacuum', '--exclusion-group', 'none');
  assert.equal(cleared.code, 0, cleared.stderr);
  assert.equal(await group(), null);
});
