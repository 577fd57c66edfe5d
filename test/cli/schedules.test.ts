import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertCliActor, auditRows } from '../support/audit.ts';
import { beat, beatChild } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

let pg: TestDatabase;
let env: Record<string, string>;

before(async () => {
  pg = await createTestDatabase();
  env = { DATABASE_URL: pg.url };
});
after(async () => {
  await pg?.drop();
});

const run = (...args: string[]) => beat(args, env);

test('beat add creates a database-owned schedule, validated like a declaration', async () => {
  const added = await run(
    'add',
    'ops.vacuum',
    '--task',
    'ops.tasks.vacuum',
    '--cron',
    '0 4 * * *',
    '--tz',
    'Europe/Berlin',
    '--args',
    '["full"]',
    '--kwargs',
    '{"table": "events"}',
    '--queue',
    'ops',
    '--priority',
    '3',
    '--json',
  );
  assert.equal(added.code, 0, added.stderr);
  const json = JSON.parse(added.stdout);
  assert.equal(json.managedBy, 'db');
  assert.equal(json.state, 'enabled');
  assert.deepEqual(json.args, ['full']);
  assert.ok(json.nextFireAt);

  const every = await run('add', 'ops.ping', '--task', 'ops.ping', '--every', '30s');
  assert.equal(every.code, 0, every.stderr);
  assert.match(every.stdout, /added ops\.ping \(managed by db\): next fire /);
  const celery = await run(
    'add',
    'ops.monday',
    '--task',
    't',
    '--cron',
    '{"hour": 8, "minute": 0, "dayOfWeek": 1}',
    '--tz',
    'UTC',
  );
  assert.equal(celery.code, 0, celery.stderr);
  const solar = await run(
    'add',
    'ops.dusk',
    '--task',
    't',
    '--solar',
    'dusk_civil',
    '--lat',
    '60.17',
    '--lon',
    '24.94',
  );
  assert.equal(solar.code, 0, solar.stderr);
  const once = await run('add', 'ops.once', '--task', 't', '--at', '2031-05-01T12:00:00+02:00');
  assert.equal(once.code, 0, once.stderr);
});

test('beat add refuses bad input naming the flag, and an existing name', async () => {
  const bad = await run(
    'add',
    'ops.bad',
    '--task',
    't',
    '--cron',
    '0 4 * * *',
    '--tz',
    'Nowhere/City',
    '--priority',
    '12',
    '--kwargs',
    '[1]',
  );
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--tz: .*Nowhere\/City/);
  assert.match(bad.stderr, /--priority: .*0 to 9/);
  assert.match(bad.stderr, /--kwargs: .*JSON object/);
  const noTz = await run('add', 'ops.bad', '--task', 't', '--cron', '0 4 * * *');
  assert.equal(noTz.code, 2);
  assert.match(noTz.stderr, /--cron needs --tz/);
  const notJson = await run('add', 'ops.bad', '--task', 't', '--every', '1m', '--args', '[1,');
  assert.equal(notJson.code, 2);
  assert.match(notJson.stderr, /--args is not valid JSON/);
  const dup = await run('add', 'ops.ping', '--task', 't', '--every', '1m');
  assert.equal(dup.code, 2);
  assert.match(dup.stderr, /already exists \(managed by db/);
});

test('beat list shows name, kind, spec, state and fires; --json gives every field', async () => {
  const list = await run('list');
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^NAME\s+KIND\s+SPEC\s+STATE\s+NEXT FIRE\s+LAST FIRE/);
  assert.match(
    list.stdout,
    /ops\.vacuum\s+crontab\s+0 4 \* \* \* \(Europe\/Berlin\)\s+enabled\s+\d{4}-\d\d-\d\d 04:00:00 \+0[12]:00/,
  );
  assert.match(list.stdout, /ops\.monday\s+crontab\s+minute=0 hour=8 dayOfWeek=1 \(UTC\)/);
  const json = JSON.parse((await run('list', '--json')).stdout);
  assert.deepEqual(
    json.map((s: { name: string }) => s.name),
    ['ops.dusk', 'ops.monday', 'ops.once', 'ops.ping', 'ops.vacuum'],
  );
});

test('pause and resume: state shows; resume keeps the cursor so the catch-up policy decides', async () => {
  await pg.sql`update metronome.schedules set next_fire_at = '2020-01-01T00:00:00Z' where name = 'ops.ping'`;
  const paused = await run('pause', 'ops.ping', '--reason', 'broker maintenance');
  assert.equal(paused.code, 0, paused.stderr);
  assert.match(paused.stdout, /paused ops\.ping since .* \(broker maintenance\)/);
  const list = JSON.parse((await run('list', '--json')).stdout);
  const ping = list.find((s: { name: string }) => s.name === 'ops.ping');
  assert.equal(ping.state, 'paused');
  assert.equal(ping.pausedReason, 'broker maintenance');
  const again = await run('pause', 'ops.ping');
  assert.match(again.stdout, /already paused/);
  const resumed = await run('resume', 'ops.ping', '--json');
  assert.equal(resumed.code, 0, resumed.stderr);
  const r = JSON.parse(resumed.stdout);
  assert.equal(r.state, 'enabled');
  // The cursor stays where the pause left it: the runtime applies the catch-up policy to the
  // paused stretch (test/beat/live.test.ts shows it runs once, not in a burst).
  assert.equal(r.nextFireAt, '2020-01-01T00:00:00.000Z');
  const notPaused = await run('resume', 'ops.ping');
  assert.match(notPaused.stdout, /not paused/);
});

test('beat show: all fields, next 5 fires with DST marks, last occurrences', async () => {
  await run(
    'add',
    'dst.berlin',
    '--task',
    't',
    '--cron',
    '30 2 * * *',
    '--tz',
    'Europe/Berlin',
    '--start-at',
    '2027-03-26T00:00:00Z',
  );
  await pg.sql`
    insert into metronome.occurrences (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status, enqueued_at)
    select id, name, '2026-01-01T03:00:00Z', '2026-01-01T03:00:00Z', 'vacuum-1', 'succeeded', now()
    from metronome.schedules where name = 'ops.vacuum'`;
  const show = await run('show', 'dst.berlin');
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /^name\s+dst\.berlin$/m);
  assert.match(show.stdout, /Next 5 fires \(Europe\/Berlin\)/);
  // 2027-03-28 is the spring-forward night: 02:30 does not exist and runs at 03:30.
  assert.match(show.stdout, /2027-03-28T01:30:00\.000Z\s+2027-03-28 03:30:00 \+02:00\s+shifted: 02:30/);
  const json = JSON.parse((await run('show', 'ops.vacuum', '--json')).stdout);
  assert.equal(json.nextFires.length, 5);
  assert.equal(json.lastOccurrences[0].taskId, 'vacuum-1');
  assert.equal(json.kwargs.table, 'events');
});

test('an invalid row shows as invalid with its reason in list and show', async () => {
  await pg.sql`
    insert into metronome.schedules (name, task, kind, cron, timezone) values ('sql.bad', 't', 'crontab', '0 3 * * *', 'Mars/Olympus')`;
  const list = await run('list');
  assert.match(list.stdout, /sql\.bad\s+crontab\s+.*\s+invalid\s/);
  assert.match(list.stdout, /invalid: sql\.bad: column timezone: .*Mars\/Olympus/);
  const show = await run('show', 'sql.bad');
  assert.match(show.stdout, /^invalid\s+column timezone/m);
});

test('beat history lists occurrences, and keeps them after the schedule is removed', async () => {
  const history = await run('history', 'ops.vacuum', '--limit', '5');
  assert.equal(history.code, 0, history.stderr);
  assert.match(history.stdout, /2026-01-01T03:00:00\.000Z\s+succeeded\s+vacuum-1/);
  const removed = await run('remove', 'ops.vacuum');
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, /removed ops\.vacuum .*history stays/);
  const after = JSON.parse((await run('history', 'ops.vacuum', '--json')).stdout);
  assert.equal(after.length, 1);
});

test('beat remove refuses a code-owned schedule unless --force', async () => {
  await pg.sql`
    insert into metronome.schedules (name, task, kind, every_ms, managed_by, source)
    values ('code.one', 't', 'interval', 60000, 'code', 'schedules/one.ts')`;
  const refused = await run('remove', 'code.one');
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /declared in code \(schedules\/one\.ts\).*sync --prune.*--force/);
  const forced = await run('remove', 'code.one', '--force');
  assert.equal(forced.code, 0, forced.stderr);
});

test('beat add and beat remove each leave an audit record naming who ran them', async () => {
  assert.equal((await run('add', 'audit.me', '--task', 't', '--every', '1h')).code, 0);
  assert.equal((await run('remove', 'audit.me')).code, 0);
  const rows = await auditRows(pg, 'audit.me');
  assert.deepEqual(
    rows.map((r) => r.action),
    ['create', 'remove'],
    'beat add and beat remove are each recorded',
  );
  for (const row of rows) assertCliActor(row, row.action);
  assert.equal(rows[0]!.detail.source, 'beat add');
});

test('unknown names give a clear error and exit 2 for every command that takes one', async () => {
  for (const args of [
    ['show', 'nope'],
    ['pause', 'nope'],
    ['resume', 'nope'],
    ['remove', 'nope'],
    ['history', 'nope'],
  ]) {
    const result = await run(...args);
    assert.equal(result.code, 2, args.join(' '));
    assert.match(result.stderr, /no schedule named "nope"/, args.join(' '));
  }
});

test('as a child process: beat list --json against Postgres', async () => {
  const child = await beatChild(['list', '--json'], { env });
  assert.equal(child.code, 0, child.stderr);
  assert.ok(JSON.parse(child.stdout).some((s: { name: string }) => s.name === 'ops.ping'));
});
