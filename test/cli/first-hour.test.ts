/**
 * What a newcomer meets in the first hour: a dry run that writes nothing (no migration, no
 * embedded data folder) and says when the database is not migrated; `beat trigger` failing when no
 * leader took the run.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BeatProcess, STARTUP_MS } from '../support/beat-process.ts';
import { beat } from '../support/cli.ts';
import { type DeclarationDir, declarationDir } from '../support/declarations.ts';
import { createTestDatabase, one, type TestDatabase } from '../support/pg.ts';

let unmigrated: TestDatabase;
let migrated: TestDatabase;
let decl: DeclarationDir;

before(async () => {
  [unmigrated, migrated] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  decl = declarationDir();
  decl.write(
    'reports.ts',
    `import { crontab, defineSchedule } from 'metronome';
export default defineSchedule({ name: 'reports.nightly', task: 'reports.nightly', schedule: crontab('30 2 * * *', { tz: 'UTC' }) });
`,
  );
});
after(async () => {
  decl?.cleanup();
  await unmigrated?.drop();
  await migrated?.drop();
});

test('beat sync --dry-run on an unmigrated database says so, plans creates, and migrates nothing', async () => {
  const dry = await beat(['sync', '--dir', decl.rel, '--dry-run'], { DATABASE_URL: unmigrated.url });
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /create\s+reports\.nightly/);
  assert.match(dry.stdout, /not migrated/i, 'the dry run says the database is not migrated');
  assert.match(dry.stdout, /nothing written/i);
  const { n } = one(
    await unmigrated.sql`select count(*)::int as n from information_schema.schemata where schema_name = 'metronome'`,
  );
  assert.equal(n, 0, 'the dry run created the metronome schema (it migrated the database)');
});

test('beat sync --dry-run --json on an unmigrated database plans creates and says it is not migrated', async () => {
  const dry = await beat(['sync', '--dir', decl.rel, '--dry-run', '--json'], {
    DATABASE_URL: unmigrated.url,
  });
  assert.equal(dry.code, 0, dry.stderr);
  const parsed = JSON.parse(dry.stdout);
  assert.equal(parsed.dryRun, true);
  assert.ok(parsed.migrationsPending > 0, 'the JSON names the migrations a real sync would apply');
  assert.deepEqual(parsed.summary, { create: 1, update: 0, unchanged: 0, prune: 0, orphan: 0 });
});

test('beat sync --dry-run on the embedded database creates no data folder', async () => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'metronome-dry-'));
  const dataDir = path.join(parent, '.metronome');
  try {
    const dry = await beat(['sync', '--dir', decl.rel, '--dry-run'], {
      DATABASE_URL: undefined,
      METRONOME_DATA_DIR: dataDir,
    });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /create\s+reports\.nightly/);
    assert.match(dry.stdout, /nothing written/i);
    assert.equal(fs.existsSync(dataDir), false, `the dry run created ${dataDir}`);
  } finally {
    fs.rmSync(parent, { recursive: true, force: true });
  }
});

test('beat trigger exits non-zero when no leader enqueued the run', async () => {
  const env = { DATABASE_URL: migrated.url };
  const added = await beat(['add', 'ops.ping', '--task', 'ops.ping', '--every', '1h'], env);
  assert.equal(added.code, 0, added.stderr);
  const triggered = await beat(['trigger', 'ops.ping', '--wait', '0.2'], env);
  assert.match(triggered.stdout, /no leader enqueued it/);
  assert.notEqual(triggered.code, 0, 'a trigger no leader took must not exit 0');
});

test('a SIGTERM while the beat is still starting: it finishes starting, hands over and exits 0', async () => {
  const beatProcess = new BeatProcess('early-stop', {
    DATABASE_URL: migrated.url,
    METRONOME_HTTP: 'off',
    REDIS_URL: '',
    BROKER_URL: '',
    METRONOME_TRANSPORT: 'log',
  });
  try {
    // The database is open, the election not yet held: a pod deleted as it starts.
    await beatProcess.waitForLog('database ready', STARTUP_MS);
  } finally {
    assert.equal(await beatProcess.stop(60_000), 0, 'the beat exits 0 on a SIGTERM during start-up');
  }
  assert.ok(beatProcess.hasLog('stopped'), 'the stop is logged');
});

test('a normal stop (SIGTERM) logs the step-down at info, and nothing at warn or above', async () => {
  const beatProcess = new BeatProcess('stop', {
    DATABASE_URL: migrated.url,
    METRONOME_HTTP: 'off',
    REDIS_URL: '',
    BROKER_URL: '',
    METRONOME_TRANSPORT: 'log',
  });
  try {
    await beatProcess.waitForLog('leading', STARTUP_MS);
  } finally {
    // A generous bound: a loaded machine stops slowly, and a SIGKILL would prove nothing.
    assert.equal(await beatProcess.stop(60_000), 0, 'the beat exits 0 on SIGTERM');
  }
  const stepped = beatProcess.logs.find((l) => l.msg === 'stepped down');
  assert.ok(stepped, 'the step-down is logged');
  assert.equal(stepped.level, 30, `a normal stop's step-down is info: ${JSON.stringify(stepped)}`);
  const loud = beatProcess.logs.filter((l) => l.level >= 40);
  assert.deepEqual(loud, [], 'a normal stop logs nothing at warn or above');
});
