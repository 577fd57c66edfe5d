import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openDatabase } from '../../src/db/database.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';
import { beatChild } from '../support/cli.ts';
import { createTestDatabase, one, type TestDatabase } from '../support/pg.ts';

let fresh: TestDatabase;
let raced: TestDatabase;

before(async () => {
  fresh = await createTestDatabase();
  raced = await createTestDatabase();
});
after(async () => {
  await fresh?.drop();
  await raced?.drop();
});

test('migrations apply to a fresh database, and a second run is a no-op', async () => {
  const database = await openDatabase({ databaseUrl: fresh.url, dataDir: '' });
  try {
    const first = await migrateDatabase(database);
    assert.ok(first.applied >= 2, `applied ${first.applied}`);
    assert.equal(first.applied, first.total);
    const second = await migrateDatabase(database);
    assert.deepEqual(second, { applied: 0, total: first.total });
  } finally {
    await database.close();
  }
  const tables = await fresh.sql`
    select table_name from information_schema.tables where table_schema = 'metronome' order by 1`;
  assert.deepEqual(
    tables.map((t) => t.table_name),
    [
      '__migrations',
      'alerts',
      'audit_log',
      'backfills',
      'calendar_days',
      'calendars',
      'leader',
      'leader_history',
      'occurrences',
      'replicas',
      'schedules',
    ],
  );
  const triggers = await fresh.sql`
    select distinct trigger_name from information_schema.triggers where event_object_schema = 'metronome' order by 1`;
  assert.deepEqual(
    triggers.map((t) => t.trigger_name),
    [
      'calendar_days_deleted',
      'calendar_days_inserted',
      'calendar_days_updated',
      'calendars_before_update',
      'calendars_touch_schedules',
      'leader_history',
      'schedules_before_update',
      'schedules_calendars_changed',
      'schedules_dst_policy_changed',
      'schedules_notify',
    ],
  );
});

test('four processes migrating one database at once: all succeed, each migration applied once', async () => {
  const runs = await Promise.all(
    [1, 2, 3, 4].map(() => beatChild(['migrate', '--json'], { env: { DATABASE_URL: raced.url } })),
  );
  for (const run of runs) assert.equal(run.code, 0, run.stderr);
  const results = runs.map((r) => JSON.parse(r.stdout) as { applied: number; total: number });
  const total = results[0]!.total;
  assert.ok(total >= 2);
  // Exactly one process did the work; the others waited on the lock and found nothing to do.
  assert.deepEqual(results.map((r) => r.applied).sort(), [0, 0, 0, total]);
  const { n } = one(await raced.sql`select count(*)::int as n from metronome.__migrations`);
  assert.equal(n, total);
});

test('beat migrate prints a clear error naming Postgres and the URL (password masked) when it cannot connect', async () => {
  const run = await beatChild(['migrate'], {
    env: { DATABASE_URL: 'postgres://metronome:s3cret@127.0.0.1:1/nothing' },
  });
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /cannot connect to Postgres at postgres:\/\/metronome:\*\*\*@127\.0\.0\.1:1\/nothing/,
  );
  assert.doesNotMatch(run.stderr, /s3cret/);
});
