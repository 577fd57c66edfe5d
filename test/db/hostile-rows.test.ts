/**
 * Rows a person (or a restore without our constraints) can write, that once stopped the beat or the
 * operator CLI: infinite timestamps (postgres.js reads 'infinity' as an Invalid Date), numbers out
 * of any sane range, runtime columns edited by hand, names with control characters, one-offs in the
 * past. Each is quarantined by the loader with a reason naming its column; `beat list` and
 * `beat show` keep working. On both drivers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import { findSchedule } from '../../src/db/sql/schedules-read.ts';
import { loadSchedules } from '../../src/db/store.ts';
import { parseTimestamptz } from '../../src/db/timestamps.ts';
import { beat } from '../support/cli.ts';
import { dropScheduleChecks, insertLiteralRows, intervalRow, raw } from '../support/hostile.ts';
import { createMigratedPglite, migratedDatabasePerFile } from '../support/migrated.ts';

const file = migratedDatabasePerFile((db) => dropScheduleChecks(db.sql));

/** Each bad row, and the column its reason must name. */
const BAD: Array<[Record<string, unknown>, string]> = [
  [intervalRow('bad.start_at', { start_at: '-infinity' }), 'start_at'],
  [intervalRow('bad.start_at_far', { start_at: '12000-01-01T00:00:00Z' }), 'start_at'],
  [intervalRow('bad.end_at', { end_at: 'infinity' }), 'end_at'],
  [intervalRow('bad.anchor_at', { anchor_at: 'infinity' }), 'anchor_at'],
  [intervalRow('bad.run_at', { kind: 'clocked', every_ms: null, run_at: 'infinity' }), 'run_at'],
  [intervalRow('bad.next_fire_at', { next_fire_at: '-infinity' }), 'next_fire_at'],
  [intervalRow('bad.last_fire_at', { last_fire_at: 'infinity' }), 'last_fire_at'],
  [intervalRow('bad.paused_at', { paused_at: 'infinity' }), 'paused_at'],
  [intervalRow('bad.total_runs', { total_runs: -5 }), 'total_runs'],
  [intervalRow('bad.max_runs', { max_runs: 0 }), 'max_runs'],
  [intervalRow('bad.expires_ms', { expires_ms: '9000000000000000000' }), 'expires_ms'],
  [intervalRow('bad.catchup_window_ms', { catchup_window_ms: '9000000000000000000' }), 'catchup_window_ms'],
  [intervalRow('bad.jitter_ms', { jitter_ms: '9000000000000000000' }), 'jitter_ms'],
  [intervalRow('bad.jitter_period', { jitter_ms: 60_000 }), 'jitter_ms'],
  [intervalRow('bad.run_lease_ms', { run_lease_ms: '9000000000000000000' }), 'run_lease_ms'],
  [intervalRow('bad.time_limit_s', { time_limit_s: -1 }), 'time_limit_s'],
  [intervalRow('bad.soft_time_limit_s', { time_limit_s: 10, soft_time_limit_s: 10 }), 'soft_time_limit_s'],
  [intervalRow('bad.version', { version: '9000000000000000000' }), 'version'],
  [intervalRow('bad.every_ms', { every_ms: '9000000000000000000' }), 'every_ms'],
  [
    intervalRow('bad.latitude', {
      kind: 'solar',
      every_ms: null,
      solar_event: 'sunset',
      latitude: raw("'NaN'::float8"),
      longitude: 13,
    }),
    'latitude',
  ],
  [intervalRow('bad.dst_policy_kind', { dst_policy: 'repeated=both,missing=skip' }), 'dst_policy'],
  [
    intervalRow('bad.dst_policy', {
      kind: 'crontab',
      every_ms: null,
      cron: '30 2 * * *',
      timezone: 'Europe/Berlin',
      dst_policy: 'repeated=last',
    }),
    'dst_policy',
  ],
  [intervalRow('bad\nname', {}), 'name'],
  [intervalRow('bad.task', { task: 'tasks.\u001b[31mred' }), 'task'],
  [intervalRow('bad.queue', { queue: 'q\u2028ueue' }), 'queue'],
  [intervalRow('bad.args', { args: raw("('[1' || repeat('0', 5000) || ']')::jsonb") }), 'args'],
  [
    intervalRow('bad.past_one_off', { kind: 'clocked', every_ms: null, run_at: '2020-01-01T00:00:00Z' }),
    'run_at',
  ],
];

test('every bad row is quarantined with a reason naming its column; good rows load', async () => {
  await insertLiteralRows(file.db.sql, [intervalRow('good.every'), ...BAD.map(([row]) => row)]);
  const result = await loadSchedules(file.database);
  assert.deepEqual(
    result.schedules.map((s) => s.record.name),
    ['good.every'],
  );
  const reasons = new Map(result.invalid.map((i) => [i.record.name, i.reason]));
  for (const [row, column] of BAD) {
    const reason = reasons.get(row.name as string);
    assert.ok(reason, `${JSON.stringify(row.name)} is quarantined`);
    assert.match(reason, new RegExp(`^column ${column}[.:]`), `${JSON.stringify(row.name)}: ${reason}`);
  }
  const stored = await file.db.sql<{ name: string; invalid_reason: string | null }[]>`
    select name, invalid_reason from metronome.schedules where name <> 'good.every'`;
  for (const r of stored) assert.ok(r.invalid_reason, `${JSON.stringify(r.name)}: invalid_reason stored`);
});

test('a one-off in the past that already ran (or was recorded missed) is done, not invalid', async () => {
  await insertLiteralRows(file.db.sql, [
    intervalRow('done.ran', {
      kind: 'clocked',
      every_ms: null,
      run_at: '2021-01-01T00:00:00Z',
      total_runs: 1,
      last_fire_at: '2021-01-01T00:00:00Z',
    }),
    intervalRow('done.missed', { kind: 'clocked', every_ms: null, run_at: '2021-01-01T00:00:00Z' }),
  ]);
  await file.db
    .sql`insert into metronome.occurrences (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status)
    select id, name, run_at, run_at, 'done-missed-task', 'missed' from metronome.schedules where name = 'done.missed'`;
  const result = await loadSchedules(file.database);
  const names = result.schedules.map((s) => s.record.name);
  assert.ok(names.includes('done.ran') && names.includes('done.missed'), JSON.stringify(result.invalid));
});

test('beat list and beat show never die on a bad row, and show the reason', async () => {
  const env = { DATABASE_URL: file.db.url };
  const list = await beat(['list'], env);
  assert.equal(list.code, 0, list.stderr);
  for (const [row] of BAD) {
    const shownName = JSON.stringify(row.name).slice(1, -1);
    assert.ok(list.stdout.includes(shownName), `list shows ${shownName}`);
  }
  assert.match(list.stdout, /invalid: bad\.start_at: column start_at/);
  const json = await beat(['list', '--json'], env);
  assert.equal(json.code, 0, json.stderr);
  assert.equal(JSON.parse(json.stdout).length, BAD.length + 3);
  for (const [row, column] of BAD) {
    const show = await beat(['show', row.name as string], env);
    assert.equal(show.code, 0, `${JSON.stringify(row.name)}: ${show.stderr}`);
    assert.match(show.stdout, new RegExp(`invalid\\s+column ${column}`));
    const showJson = await beat(['show', row.name as string, '--json'], env);
    assert.equal(showJson.code, 0, showJson.stderr);
    assert.equal(JSON.parse(showJson.stdout).state, 'invalid');
  }
});

test('PGlite: infinite timestamps are quarantined naming the column, and list and show work', async () => {
  const lite = await createMigratedPglite();
  try {
    const checks = await lite.database.rows<{ conname: string }>(
      sql`select conname from pg_constraint where conrelid = 'metronome.schedules'::regclass and contype = 'c'`,
    );
    for (const { conname } of checks)
      await lite.database.rows(sql.raw(`alter table metronome.schedules drop constraint "${conname}"`));
    await lite.database.rows(sql`
      insert into metronome.schedules (name, task, kind, every_ms, start_at, next_fire_at, anchor_at) values
        ('lite.good', 't', 'interval', 60000, null, null, null),
        ('lite.start', 't', 'interval', 60000, '-infinity', null, null),
        ('lite.next', 't', 'interval', 60000, null, 'infinity', null),
        ('lite.anchor', 't', 'interval', 60000, null, null, 'infinity')`);
    const result = await loadSchedules(lite.database);
    assert.deepEqual(
      result.schedules.map((s) => s.record.name),
      ['lite.good'],
    );
    const reasons = Object.fromEntries(result.invalid.map((i) => [i.record.name, i.reason]));
    assert.match(reasons['lite.start'] ?? '', /^column start_at:/);
    assert.match(reasons['lite.next'] ?? '', /^column next_fire_at:/);
    assert.match(reasons['lite.anchor'] ?? '', /^column anchor_at:/);
    await lite.close();
    const env = { DATABASE_URL: undefined, METRONOME_DATA_DIR: lite.dataDir };
    const list = await beat(['list'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /invalid: lite\.next: column next_fire_at/);
    const show = await beat(['show', 'lite.anchor'], env);
    assert.equal(show.code, 0, show.stderr);
  } finally {
    await lite.remove();
  }
});

test("timestamps are read strictly: years before 100, offsets with seconds, BC dates and 'infinity'", async () => {
  assert.equal(parseTimestamptz('0050-06-01 00:53:28+00:53:28').toISOString(), '0050-06-01T00:00:00.000Z');
  assert.equal(
    parseTimestamptz('2026-01-01 05:30:00.123456+05:30').toISOString(),
    '2026-01-01T00:00:00.123Z',
  );
  assert.equal(parseTimestamptz('2026-03-29 03:30:00-03:30').toISOString(), '2026-03-29T07:00:00.000Z');
  for (const text of ['infinity', '-infinity', '0044-03-15 00:00:00+00 BC', 'garbage'])
    assert.ok(Number.isNaN(parseTimestamptz(text).getTime()), text);
  // JavaScript's own parser read year 0050 as 2050: a window that ended long ago looked open.
  await insertLiteralRows(file.db.sql, [
    intervalRow('ancient.end', { start_at: '0040-01-01T00:00:00Z', end_at: '0050-01-01T00:00:00Z' }),
  ]);
  const record = await findSchedule(file.database.db, 'ancient.end');
  assert.equal(record?.endAt?.toISOString(), '0050-01-01T00:00:00.000Z');
});
