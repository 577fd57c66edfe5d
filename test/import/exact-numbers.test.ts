/**
 * Both importers keep the numbers celery beat would have sent: an integer beyond 2^53, a float that
 * happens to be whole (`1.0`, `1e+21`), a negative zero. celery beat sends args, kwargs and headers
 * as Python's JSON writes them, so a worker reads `2**60` as that int and `1e+21` as a float; the
 * imported row must give the worker the same values (Postgres jsonb keeps digits, not float-ness
 * written as an exponent, so a whole float is stored as `1000000000000000000000.0`). A declaration
 * file holds JavaScript numbers: an entry with a number it cannot hold exactly is said so, and
 * imported as a row. Real Celery 5.2 (Debian's), and django-celery-beat's tables made by its own
 * migrations.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { assertCliActor, auditRows } from '../support/audit.ts';
import { PYTHON, requireCelery } from '../support/celery-worker.ts';
import { beat, ROOT } from '../support/cli.ts';
import { type DeclarationDir, declarationDir } from '../support/declarations.ts';
import { django, requireDjangoCeleryBeat } from '../support/django-celery-beat.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

const APP = `
from celery import Celery

app = Celery('numbersapp', broker='memory://')
app.conf.result_expires = None  # no celery.backend_cleanup entry
app.conf.beat_schedule = {
    'big': {
        'task': 'tasks.record', 'schedule': 60.0,
        'args': (2**60, -0.0, 1e21, 1.0, 0.5),
        'kwargs': {'n': -2**64, 'f': 1e16},
        'options': {'headers': {'tenant': 2**62}},
    },
    'plain': {'task': 'tasks.record', 'schedule': 60.0, 'args': (1, 0.5, 1e-7, -3), 'kwargs': {'x': 2.25}},
}
`;

let db: TestDatabase;
let decl: DeclarationDir;
let appDir: string;

before(async () => {
  requireCelery();
  requireDjangoCeleryBeat();
  db = await createTestDatabase();
  decl = declarationDir();
  appDir = path.join(decl.dir, 'app');
  fs.mkdirSync(appDir);
  fs.writeFileSync(path.join(appDir, 'numbersapp.py'), APP);
});

after(async () => {
  decl?.cleanup();
  await db?.drop();
});

const importCelery = (...args: string[]) =>
  beat(['import', 'celery', '--app', 'numbersapp:app', '--python', PYTHON, ...args], {
    PYTHONPATH: appDir,
    DATABASE_URL: db.url,
  });

async function stored(name: string) {
  const [row] = await db.sql<{ args: string; kwargs: string; headers: string; managed_by: string }[]>`
    select args::text as args, kwargs::text as kwargs, headers::text as headers, managed_by
      from metronome.schedules where name = ${name}`;
  return row;
}

// What the worker reads back is what celery beat sent: the same ints, the same floats (the sign of
// -0.0 aside: jsonb has no negative zero, and the import says so).
const BIG_ARGS = '[1152921504606846976, 0.0, 1000000000000000000000.0, 1.0, 0.5]';
const BIG_KWARGS = '{"f": 10000000000000000.0, "n": -18446744073709551616}';

test('beat import celery --to-db: every number as celery beat sends it', async () => {
  const imported = await importCelery('--to-db');
  assert.equal(imported.code, 0, imported.stderr);
  const big = await stored('big');
  assert.equal(big?.args, BIG_ARGS);
  assert.equal(big?.kwargs, BIG_KWARGS);
  assert.equal(big?.headers, '{"tenant": 4611686018427387904}');
  assert.match(imported.stdout, /big: args\.1 -0\.0: .*0\.0.*no negative zero/);
  const plain = await stored('plain');
  assert.equal(plain?.args, '[1, 0.5, 0.0000001, -3]');
  assert.equal(plain?.kwargs, '{"x": 2.25}');
  await db.sql`delete from metronome.schedules`;
});

test('beat import celery into a file: an entry whose numbers a declaration cannot hold is said so and imported as a row', async () => {
  const out = path.join(decl.rel, 'schedules', 'celery.ts');
  const imported = await importCelery('--out', out);
  assert.equal(imported.code, 0, imported.stderr);
  const text = fs.readFileSync(path.join(ROOT, out), 'utf8');
  assert.match(
    text,
    /schedule: every\('1m'\),\n {2}args: \[1, 0\.5, 1e-7, -3\],\n {2}kwargs: \{ x: 2\.25 \},/,
  );
  assert.doesNotMatch(text, /name: 'big'/, 'not declared with altered numbers');
  assert.match(text, /big.*imported as a row.*args\.0 1152921504606846976/);
  assert.match(imported.stdout, /big: imported as a row: .*args\.0 1152921504606846976/);
  const big = await stored('big');
  assert.equal(big?.managed_by, 'db');
  assert.equal(big?.args, BIG_ARGS);
  assert.equal(big?.kwargs, BIG_KWARGS);
  assert.equal(await stored('plain'), undefined, 'the declared one waits for beat sync');

  const synced = await beat(['sync', '--dir', path.join(decl.rel, 'schedules')], { DATABASE_URL: db.url });
  assert.equal(synced.code, 0, synced.stderr);
  assert.equal((await stored('plain'))?.args, '[1, 0.5, 0.0000001, -3]');
  assert.equal((await stored('big'))?.args, BIG_ARGS, 'sync leaves the imported row alone');

  const again = await importCelery('--out', out);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /is up to date/);
});

test('beat import django-celery-beat: the JSON columns as celery beat sends them', async () => {
  django(db.url, 'migrate');
  django(db.url, 'add', [
    {
      name: 'numbers',
      task: 'tasks.record',
      interval: { every: 30, period: 'seconds' },
      args: '[1152921504606846976, -0.0, 1e21, 1.0, 2.50]',
      kwargs: '{"n": 18446744073709551616, "e": 1E+2, "small": 1e-7}',
      headers: '{"tenant": 1152921504606846977}',
    },
  ]);
  const imported = await beat(['import', 'django-celery-beat'], { DATABASE_URL: db.url });
  assert.equal(imported.code, 0, imported.stderr);
  const row = await stored('numbers');
  assert.equal(row?.args, '[1152921504606846976, 0.0, 1000000000000000000000.0, 1.0, 2.5]');
  assert.equal(row?.kwargs, '{"e": 100.0, "n": 18446744073709551616, "small": 0.0000001}');
  assert.equal(row?.headers, '{"tenant": 1152921504606846977}');
  assert.match(imported.stdout, /numbers: args\.1 -0\.0: .*no negative zero/);

  // A re-import lists the change with the numbers as they are, not the nearest doubles.
  django(db.url, 'update', { numbers: { kwargs: '{"n": 18446744073709551617, "e": 1E+2, "small": 1e-7}' } });
  const again = await beat(['import', 'django-celery-beat'], { DATABASE_URL: db.url });
  assert.equal(again.code, 0, again.stderr);
  assert.match(
    again.stdout,
    /kwargs: \{"e":100\.0,"n":18446744073709551616,"small":0\.0000001\} -> \{"n":18446744073709551617,"e":100\.0,"small":0\.0000001\}/,
  );

  // Both writes are recorded in the audit log, with who ran the import.
  const audit = await auditRows(db, 'numbers');
  assert.deepEqual(
    audit.map((r) => [r.action, r.detail.change, r.detail.source]),
    [
      ['import', 'create', 'django-celery-beat'],
      ['import', 'update', 'django-celery-beat'],
    ],
    'the import and the re-import each leave an audit record',
  );
  for (const row of audit) assertCliActor(row, `${row.detail.change}`);
  assert.deepEqual(audit[1]!.detail.changed, ['kwargs'], 'the update records the columns it changed');
});
