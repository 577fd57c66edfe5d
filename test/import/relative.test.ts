/**
 * Celery's `relative=True` intervals, as celery beat 5.2 really runs them (celery/utils/time.py,
 * `remaining` and `delta_resolution`): each next run is the last run plus the interval, rounded down
 * to the interval's unit (the day, hour or minute; the second below a minute). With an interval of
 * whole units that is a grid on the unit's boundaries, which Metronome imports and `--check` finds
 * equal to Celery's own code. With any other interval (90 minutes) when celery beat sends it depends
 * on the other entries of its schedule, so the import refuses it, naming the entry and what to use.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { PYTHON, requireCelery } from '../support/celery-worker.ts';
import { beat } from '../support/cli.ts';
import { type DeclarationDir, declarationDir } from '../support/declarations.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

const APP = `
import os
from datetime import timedelta
from celery import Celery
from celery.schedules import schedule

app = Celery('relativeapp', broker='memory://')
app.conf.result_expires = None  # no celery.backend_cleanup entry
app.conf.timezone = os.environ.get('MT_TIMEZONE', 'UTC')
app.conf.beat_schedule = {
    'two-hours': {'task': 'tasks.record', 'schedule': schedule(timedelta(hours=2), relative=True)},
    'ten-minutes': {'task': 'tasks.record', 'schedule': schedule(timedelta(minutes=10), relative=True)},
    'half-minute': {'task': 'tasks.record', 'schedule': schedule(timedelta(seconds=30), relative=True)},
    'daily': {'task': 'tasks.record', 'schedule': schedule(timedelta(days=1), relative=True)},
}
if os.environ.get('MT_VARIANT') == 'uneven':
    app.conf.beat_schedule['every-90m'] = {'task': 'tasks.record', 'schedule': schedule(timedelta(minutes=90), relative=True)}
    app.conf.beat_schedule['every-150s'] = {'task': 'tasks.record', 'schedule': schedule(timedelta(seconds=150), relative=True)}
`;

let db: TestDatabase;
let decl: DeclarationDir;
let appDir: string;

before(async () => {
  requireCelery();
  db = await createTestDatabase();
  decl = declarationDir();
  appDir = path.join(decl.dir, 'app');
  fs.mkdirSync(appDir);
  fs.writeFileSync(path.join(appDir, 'relativeapp.py'), APP);
});

after(async () => {
  decl?.cleanup();
  await db?.drop();
});

const importCelery = (env: Record<string, string>, ...args: string[]) =>
  beat(['import', 'celery', '--app', 'relativeapp:app', '--python', PYTHON, ...args], {
    PYTHONPATH: appDir,
    DATABASE_URL: db.url,
    MT_VARIANT: '',
    MT_TIMEZONE: 'UTC',
    ...env,
  });

test("relative=True over whole units: imported as Celery runs it, and --check agrees with Celery's code", async () => {
  for (const zone of ['UTC', 'Asia/Kolkata']) {
    const checked = await importCelery(
      { MT_TIMEZONE: zone },
      '--check',
      '--from',
      '2027-01-01T00:00:00Z',
      '--window',
      '30d',
    );
    assert.equal(checked.code, 0, `${zone}: ${checked.stdout}${checked.stderr}`);
    assert.match(checked.stdout, /Equal: every fire in the window is at the same instant/);
  }
});

test('relative=True over an uneven interval: refused, naming the entry and the alternative; nothing written', async () => {
  const refused = await importCelery({ MT_VARIANT: 'uneven' }, '--to-db');
  assert.equal(refused.code, 2, refused.stdout);
  assert.match(
    refused.stderr,
    /beat_schedule entry "every-90m": relative=True with an interval of 1h30m, not a whole number of hours: .*depends on the other entries.*; use .*relative=False/,
  );
  assert.match(
    refused.stderr,
    /beat_schedule entry "every-150s": relative=True with an interval of 2m30s, not a whole number of minutes/,
  );
  const check = await importCelery({ MT_VARIANT: 'uneven' }, '--check');
  assert.equal(check.code, 2);
  assert.match(check.stderr, /"every-90m": relative=True/);
  const [count] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from pg_tables where schemaname = 'metronome' and tablename = 'schedules'`;
  if (count!.n > 0) {
    const [rows] = await db.sql<{ n: number }[]>`select count(*)::int as n from metronome.schedules`;
    assert.equal(rows!.n, 0, 'nothing written');
  }
});
