import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseScheduleChange, SCHEDULES_CHANNEL } from '../../src/db/channels.ts';
import { migratedDatabasePerFile } from '../support/migrated.ts';
import { one } from '../support/pg.ts';

const file = migratedDatabasePerFile();

/** Insert a row with `columns` over a valid interval schedule; return the error's constraint. */
async function refused(columns: Record<string, unknown>): Promise<string> {
  const row = { name: `s-${Math.random()}`, task: 't', kind: 'interval', every_ms: 60_000, ...columns };
  try {
    await file.db.sql`insert into metronome.schedules ${file.db.sql(row as never)}`;
  } catch (error) {
    return (error as { constraint_name?: string }).constraint_name ?? String(error);
  }
  assert.fail(`the database accepted ${JSON.stringify(columns)}`);
}

test('CHECK constraints refuse rows a person could write by hand, naming what is required', async () => {
  const cases: [Record<string, unknown>, string][] = [
    [
      { kind: 'solar', every_ms: null, solar_event: 'sunset', longitude: 13.4 },
      'solar_needs_event_latitude_longitude',
    ],
    [
      { kind: 'solar', every_ms: null, solar_event: 'sunset', latitude: 200, longitude: 13.4 },
      'latitude_in_range',
    ],
    [
      { kind: 'solar', every_ms: null, solar_event: 'moonrise', latitude: 1, longitude: 1 },
      'solar_event_is_known',
    ],
    [{ args: file.db.sql.json({ a: 1 }) }, 'args_is_array'],
    [{ kwargs: file.db.sql.json([1, 2]) }, 'kwargs_is_object'],
    [{ headers: file.db.sql.json('x') }, 'headers_is_object'],
    [
      { kind: 'crontab', every_ms: null, cron: '* * * * *' },
      'crontab_needs_timezone_and_cron_or_cron_fields',
    ],
    [
      {
        kind: 'crontab',
        every_ms: null,
        cron: '* * * * *',
        cron_fields: file.db.sql.json({ minute: 1 }),
        timezone: 'UTC',
      },
      'crontab_needs_timezone_and_cron_or_cron_fields',
    ],
    [
      { kind: 'crontab', every_ms: null, cron_fields: file.db.sql.json([1]), timezone: 'UTC' },
      'cron_fields_is_object',
    ],
    [{ every_ms: 500 }, 'every_ms_at_least_1000'],
    [{ every_ms: null }, 'interval_needs_every_ms'],
    [{ kind: 'clocked', every_ms: null }, 'clocked_needs_run_at'],
    [{ cron: '* * * * *' }, 'only_the_columns_of_the_kind'],
    [{ kind: 'cron' }, 'kind_is_known'],
    [{ priority: 12 }, 'priority_0_to_9'],
    [{ overlap: 'queue' }, 'overlap_is_known'],
    [{ catchup: 'none' }, 'catchup_is_known'],
    [{ managed_by: 'ops' }, 'managed_by_is_known'],
    [{ name: '  ' }, 'name_not_blank'],
    [{ start_at: '2026-02-01T00:00:00Z', end_at: '2026-01-01T00:00:00Z' }, 'start_at_before_end_at'],
    [{ max_runs: 0 }, 'max_runs_positive'],
    [
      { kind: 'crontab', every_ms: null, cron: '30 2 * * *', timezone: 'UTC', dst_policy: 'repeated=second' },
      'dst_policy_is_known',
    ],
    [{ dst_policy: 'repeated=second,missing=skip' }, 'dst_policy_only_for_crontab'],
  ];
  for (const [columns, constraint] of cases) {
    assert.equal(await refused(columns), constraint, JSON.stringify(columns));
  }
  const status = await file.db.sql`
    insert into metronome.occurrences (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status)
    values (1, 'x', now(), now(), 'id-1', 'done')`.catch((e) => e.constraint_name);
  assert.equal(status, 'status_is_known');
});

test('a valid row gets the documented defaults', async () => {
  const [row] = await file.db.sql`
    insert into metronome.schedules (name, task, kind, cron, timezone)
    values ('defaults', 'tasks.x', 'crontab', '0 * * * *', 'UTC') returning *`;
  assert.deepEqual(row!.args, []);
  assert.deepEqual(row!.kwargs, {});
  assert.equal(row!.overlap, 'skip');
  assert.equal(row!.catchup, 'latest');
  assert.equal(row!.catchup_window_ms, '3600000');
  assert.equal(row!.managed_by, 'db');
  assert.equal(row!.enabled, true);
  assert.equal(row!.version, '1');
});

test('every change NOTIFYs metronome_schedules with id, op and version; updates bump version', async () => {
  const payloads: string[] = [];
  const stop = await file.database.listen(SCHEDULES_CHANNEL, (p) => payloads.push(p));
  try {
    const { id } = one(
      await file.db.sql`
      insert into metronome.schedules (name, task, kind, every_ms) values ('notify', 't', 'interval', 5000) returning id`,
    );
    await file.db.sql`update metronome.schedules set task = 't2' where id = ${id}`;
    await file.db.sql`update metronome.schedules set task = 't3' where id = ${id}`;
    await file.db.sql`delete from metronome.schedules where id = ${id}`;
    const deadline = Date.now() + 5000;
    while (payloads.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      payloads.map((p) => JSON.parse(p)),
      [
        { id: Number(id), op: 'INSERT', version: 1 },
        { id: Number(id), op: 'UPDATE', version: 2 },
        { id: Number(id), op: 'UPDATE', version: 3 },
        { id: Number(id), op: 'DELETE', version: 3 },
      ],
    );
    // The runtime's reading of them (the schedule book's) sees the same, parsed.
    assert.deepEqual(
      payloads.map(parseScheduleChange),
      payloads.map((p) => JSON.parse(p)),
    );
  } finally {
    await stop();
  }
});

test('changing a spec with SQL clears next_fire_at (it belonged to the old spec); other edits keep it', async () => {
  const { id } = one(
    await file.db.sql`
    insert into metronome.schedules (name, task, kind, every_ms, next_fire_at)
    values ('spec-edit', 't', 'interval', 60000, '2030-01-01T00:00:00Z') returning id`,
  );
  await file.db.sql`update metronome.schedules set kwargs = '{"a": 1}' where id = ${id}`;
  let [row] = await file.db
    .sql`select next_fire_at, updated_at > created_at as touched from metronome.schedules where id = ${id}`;
  assert.equal(row!.next_fire_at.toISOString(), '2030-01-01T00:00:00.000Z');
  await file.db.sql`update metronome.schedules set every_ms = 120000 where id = ${id}`;
  [row] = await file.db.sql`select next_fire_at from metronome.schedules where id = ${id}`;
  assert.equal(row!.next_fire_at, null);
  // Setting next_fire_at in the same statement (what Metronome's own writes do) keeps it.
  await file.db
    .sql`update metronome.schedules set every_ms = 60000, next_fire_at = '2031-01-01T00:00:00Z' where id = ${id}`;
  [row] = await file.db.sql`select next_fire_at from metronome.schedules where id = ${id}`;
  assert.equal(row!.next_fire_at.toISOString(), '2031-01-01T00:00:00.000Z');
});

test('changing the DST policy with SQL clears next_fire_at, as a spec change does', async () => {
  const { id } = one(
    await file.db.sql`
    insert into metronome.schedules (name, task, kind, cron, timezone, next_fire_at)
    values ('dst-edit', 't', 'crontab', '30 2 * * *', 'Europe/Berlin', '2030-01-01T00:00:00Z') returning id`,
  );
  await file.db
    .sql`update metronome.schedules set dst_policy = 'repeated=both,missing=skip' where id = ${id}`;
  let [row] = await file.db.sql`select next_fire_at, version from metronome.schedules where id = ${id}`;
  assert.equal(row!.next_fire_at, null);
  assert.equal(Number(row!.version), 2);
  await file.db
    .sql`update metronome.schedules set dst_policy = null, next_fire_at = '2031-01-01T00:00:00Z' where id = ${id}`;
  [row] = await file.db.sql`select next_fire_at from metronome.schedules where id = ${id}`;
  assert.equal(row!.next_fire_at.toISOString(), '2031-01-01T00:00:00.000Z');
});

test('occurrences have no foreign key: history outlives its schedule', async () => {
  const { id } = one(
    await file.db.sql`
    insert into metronome.schedules (name, task, kind, every_ms) values ('gone', 't', 'interval', 5000) returning id`,
  );
  await file.db.sql`
    insert into metronome.occurrences (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status)
    values (${id}, 'gone', now(), now(), 'gone-1', 'succeeded')`;
  await file.db.sql`delete from metronome.schedules where id = ${id}`;
  const { n } = one(
    await file.db.sql`select count(*)::int as n from metronome.occurrences where schedule_name = 'gone'`,
  );
  assert.equal(n, 1);
});
