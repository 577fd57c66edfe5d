/**
 * The embedded default: PGlite in a data folder, the same migrations, constraints, triggers and
 * sync; and the folder lock that keeps a second process (or a second open) out.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { SCHEDULES_CHANNEL } from '../../src/db/channels.ts';
import { DataDirLockedError } from '../../src/db/data-dir-lock.ts';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';
import { loadSchedules } from '../../src/db/store.ts';
import { syncDeclarations } from '../../src/declare/sync.ts';
import { parseDeclaration } from '../../src/model/index.ts';
import { cliActor } from '../../src/operate/actor.ts';
import { beat, beatChild } from '../support/cli.ts';
import { type DeclarationDir, declarationDir } from '../support/declarations.ts';

let dataDir: string;
let database: Database | undefined;
let decl: DeclarationDir;

before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'metronome-pglite-'));
  database = await openDatabase({ dataDir });
  decl = declarationDir();
});
after(async () => {
  await database?.close();
  decl?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('PGlite: migrations apply fresh, then are a no-op', async () => {
  const first = await migrateDatabase(database!);
  assert.ok(first.applied >= 2);
  assert.deepEqual(await migrateDatabase(database!), { applied: 0, total: first.total });
});

test('PGlite: the same CHECK constraints and NOTIFY trigger', async () => {
  const db = database!;
  await assert.rejects(
    db.rows(
      sql`insert into metronome.schedules (name, task, kind, solar_event, longitude) values ('s', 't', 'solar', 'sunset', 1)`,
    ),
    (error: Error & { cause?: Error }) =>
      /solar_needs_event_latitude_longitude/.test(error.cause?.message ?? error.message),
  );
  const payloads: string[] = [];
  const stop = await db.listen(SCHEDULES_CHANNEL, (p) => payloads.push(p));
  await db.rows(
    sql`insert into metronome.schedules (name, task, kind, every_ms) values ('n', 't', 'interval', 5000)`,
  );
  await db.rows(sql`delete from metronome.schedules where name = 'n'`);
  const deadline = Date.now() + 3000;
  while (payloads.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await stop();
  assert.deepEqual(
    payloads.map((p) => JSON.parse(p).op),
    ['INSERT', 'DELETE'],
  );
});

test('PGlite: sync and load work as on Postgres', async () => {
  const now = Date.now();
  const parsed = parseDeclaration(
    { name: 'tasks.add', task: 'tasks.add', schedule: { kind: 'interval', every: '30s' }, args: [2, 3] },
    now,
  );
  assert.ok(parsed.ok);
  const result = await syncDeclarations(
    database!,
    [{ name: parsed.name, file: 'schedules/x.ts', fields: parsed.fields }],
    { actor: cliActor() },
  );
  assert.deepEqual(
    result.plan.map((e) => e.action),
    ['create'],
  );
  const loaded = await loadSchedules(database!);
  assert.equal(loaded.schedules.length, 1);
  assert.ok(loaded.schedules[0]!.nextFireAt! > now);
});

test('PGlite lock: a second open in this process is refused, naming the folder and the pid', async () => {
  await assert.rejects(openDatabase({ dataDir }), (error: unknown) => {
    assert.ok(error instanceof DataDirLockedError);
    assert.equal(error.holder, `process ${process.pid} (this process)`);
    assert.ok(error.message.includes(dataDir));
    assert.match(error.message, new RegExp(`in use by process ${process.pid} \\(this process\\)`));
    return true;
  });
});

test('PGlite lock: another process is refused with a clear error and exit 1', async () => {
  const child = await beatChild(['list'], { env: { DATABASE_URL: undefined, METRONOME_DATA_DIR: dataDir } });
  assert.equal(child.code, 1, child.stderr);
  assert.ok(
    child.stderr.includes(`the embedded database folder ${dataDir} is in use by process ${process.pid}`),
    child.stderr,
  );
});

test('PGlite lock: released on close; a stale lock left by a dead process is taken over', async () => {
  await database!.close();
  database = undefined;
  assert.equal(fs.existsSync(path.join(dataDir, 'lock')), false);
  const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid!;
  fs.writeFileSync(path.join(dataDir, 'lock'), `${dead}\n`);
  decl.write(
    'ex.ts',
    `import { defineSchedule, every } from 'metronome';
export const add = defineSchedule({ name: 'tasks.mul', task: 'tasks.mul', schedule: every('1m'), args: [4, 5] });
`,
  );
  const env = { DATABASE_URL: undefined, METRONOME_DATA_DIR: dataDir };
  const synced = await beat(['sync', '--dir', decl.rel], env);
  assert.equal(synced.code, 0, synced.stderr);
  assert.match(synced.stdout, /embedded PGlite in /);
  const list = await beat(['list'], env);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /tasks\.mul\s+interval\s+every 1m\s+enabled/);
  assert.match(list.stdout, /tasks\.add\s+interval/);
  assert.equal(fs.existsSync(path.join(dataDir, 'lock')), false);
});
