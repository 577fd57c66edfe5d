/**
 * celery beat's schedule file is read as celery beat itself reads it (celery/beat.py,
 * PersistentScheduler.setup_schedule): a file written under another `enable_utc` or `timezone`, or
 * by a Celery too old to record them, is reset by celery beat on its next start, so its last runs
 * are not carried over — the import says so and starts those schedules afresh. Real Celery 5.2
 * (Debian's) writes the file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eventually } from '../support/beat-process.ts';
import { PYTHON, requireCelery } from '../support/celery-worker.ts';
import { beat } from '../support/cli.ts';
import { type DeclarationDir, declarationDir } from '../support/declarations.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

const APP = `
import os
from celery import Celery

app = Celery('fileapp', broker='memory://')
app.conf.result_expires = None  # no celery.backend_cleanup entry
app.conf.enable_utc = os.environ.get('MT_ENABLE_UTC', '1') == '1'
app.conf.timezone = os.environ.get('MT_TIMEZONE') or None
app.conf.beat_schedule = {'tick': {'task': 'tasks.record', 'schedule': 2.0}}
`;

let db: TestDatabase;
let decl: DeclarationDir;
let appDir: string;

before(async () => {
  requireCelery();
  db = await createTestDatabase();
  const migrated = await beat(['migrate'], { DATABASE_URL: db.url });
  assert.equal(migrated.code, 0, migrated.stderr);
  decl = declarationDir();
  appDir = path.join(decl.dir, 'app');
  fs.mkdirSync(appDir);
  fs.writeFileSync(path.join(appDir, 'fileapp.py'), APP);
});

after(async () => {
  decl?.cleanup();
  await db?.drop();
});

type Settings = { MT_ENABLE_UTC: string; MT_TIMEZONE: string };

/** A real celery beat runs the app until it has sent `tick`, and writes its file as it stops. */
async function celeryBeatFile(settings: Settings): Promise<string> {
  const file = path.join(
    decl.dir,
    `celerybeat-${settings.MT_ENABLE_UTC}-${(settings.MT_TIMEZONE || 'none').replace('/', '-')}`,
  );
  const child = spawn(PYTHON, ['-m', 'celery', '-A', 'fileapp', 'beat', '-s', file, '--loglevel=INFO'], {
    cwd: appDir,
    env: { ...process.env, PYTHONPATH: appDir, ...settings },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d) => {
    log += d;
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  try {
    await eventually('celery beat to send tick', 60_000, () => {
      assert.equal(child.exitCode, null, `celery beat exited:\n${log}`);
      return /Sending due task tick/.test(log);
    });
  } finally {
    child.kill('SIGTERM'); // celery beat writes its schedule file as it stops
    await exited;
  }
  return file;
}

/** Import into an empty table, with the app configured as `settings`. */
async function importWith(settings: Settings, file: string) {
  await db.sql`delete from metronome.schedules`;
  return beat(
    ['import', 'celery', '--app', 'fileapp:app', '--python', PYTHON, '--to-db', '--schedule-file', file],
    { PYTHONPATH: appDir, DATABASE_URL: db.url, ...settings },
  );
}

const lastFire = async () =>
  (
    await db.sql<{ last_fire_at: Date | null }[]>`
      select last_fire_at from metronome.schedules where name = 'tick'`
  )[0]?.last_fire_at ?? null;

test('a schedule file written with enable_utc off is not carried over into an app with it on', async () => {
  const file = await celeryBeatFile({ MT_ENABLE_UTC: '0', MT_TIMEZONE: '' });
  const same = await importWith({ MT_ENABLE_UTC: '0', MT_TIMEZONE: '' }, file);
  assert.equal(same.code, 0, same.stderr);
  assert.notEqual(await lastFire(), null, 'the same settings: its last run is carried over');

  const other = await importWith({ MT_ENABLE_UTC: '1', MT_TIMEZONE: '' }, file);
  assert.equal(other.code, 0, other.stderr);
  assert.match(other.stdout, /enable_utc.*celery beat would reset it, so its last runs are not used/);
  assert.equal(await lastFire(), null, 'celery beat would discard the file: no last run');
});

test('a schedule file written under another timezone is not carried over', async () => {
  const file = await celeryBeatFile({ MT_ENABLE_UTC: '1', MT_TIMEZONE: 'Europe/Berlin' });
  const other = await importWith({ MT_ENABLE_UTC: '1', MT_TIMEZONE: 'UTC' }, file);
  assert.equal(other.code, 0, other.stderr);
  assert.match(other.stdout, /timezone 'Europe\/Berlin'.*celery beat would reset it/);
  assert.equal(await lastFire(), null);
});
