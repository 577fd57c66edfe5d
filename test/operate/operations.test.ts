/**
 * The operator's operations through the CLI (the API calls the same functions: test/http/api.test.ts):
 * each is recorded in the audit log with who, what and when; enable/disable refuse a schedule
 * declared in code and say where to change it.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, test } from 'node:test';
import { auditRows } from '../support/audit.ts';
import { beat } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

let pg: TestDatabase;
let env: Record<string, string>;
const run = (...args: string[]) => beat(args, env);

before(async () => {
  pg = await createTestDatabase();
  env = { DATABASE_URL: pg.url };
  assert.equal((await run('migrate')).code, 0);
  await pg.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by)
               values ('ops.db', 'tasks.db', 'interval', 60000, 'db')`;
  await pg.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by, source)
               values ('ops.code', 'tasks.code', 'interval', 60000, 'code', 'schedules/ops.ts')`;
});

after(async () => {
  await pg?.drop();
});

const audit = () => auditRows(pg);

test('pause, resume, trigger, disable, enable: done and recorded with who and when', async () => {
  const started = Date.now() - 1_000;
  assert.equal((await run('pause', 'ops.db', '--reason', 'broker maintenance')).code, 0);
  assert.equal((await run('resume', 'ops.db')).code, 0);
  assert.equal((await run('trigger', 'ops.db', '--wait', '0')).code, 0);
  const disabled = await run('disable', 'ops.db', '--json');
  assert.equal(disabled.code, 0, disabled.stderr);
  assert.deepEqual(JSON.parse(disabled.stdout), { name: 'ops.db', enabled: false, changed: true });
  assert.match((await run('disable', 'ops.db')).stdout, /already was disabled/);
  assert.match((await run('enable', 'ops.db')).stdout, /is now enabled/);
  const rows = await audit();
  assert.deepEqual(
    rows.map((r) => r.action),
    ['pause', 'resume', 'trigger', 'disable', 'enable'],
    'a no-op (disable when disabled) is not recorded',
  );
  for (const row of rows) {
    assert.equal(row.via, 'cli');
    assert.match(row.actor, new RegExp(`@${hostname()}$`));
    assert.equal(row.schedule_name, 'ops.db');
    assert.ok(row.at.getTime() >= started && row.at.getTime() <= Date.now() + 1_000);
  }
  assert.equal(rows[0]!.detail.reason, 'broker maintenance');
  assert.equal(typeof rows[2]!.detail.taskId, 'string');
  const [schedule] = await pg.sql<{ enabled: boolean; paused_at: Date | null; next_fire_at: Date | null }[]>`
    select enabled, paused_at, next_fire_at from metronome.schedules where name = 'ops.db'`;
  assert.equal(schedule?.enabled, true);
  assert.equal(schedule?.paused_at, null);
  // Enabling starts from now, as sync does: no week of catch-up after a week disabled.
  assert.ok((schedule?.next_fire_at?.getTime() ?? 0) > Date.now() - 1_000);
});

test('a schedule declared in code: enable/disable refused with where to change it; pause works', async () => {
  const refused = await run('disable', 'ops.code');
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /declared in code \(schedules\/ops\.ts\): edit it there and run 'beat sync'/);
  const before = (await audit()).length;
  assert.equal((await run('pause', 'ops.code')).code, 0);
  assert.equal((await audit()).length, before + 1);
  const unknown = await run('enable', 'nope');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no schedule named "nope"/);
});
