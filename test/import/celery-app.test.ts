/**
 * `beat import celery` on a real Celery app module (Debian's Celery 5.2, /usr/bin/python3): a
 * `beat_schedule` of every entry kind (a number of seconds, a timedelta, a relative schedule,
 * crontabs in Celery's own syntax, solar events, an entry added by on_after_configure, and the
 * cleanup entry celery beat adds by itself) imported to `schedules/celery.ts`, type-checked, synced,
 * and compared with `--check` against Celery's own code. Then celery beat's own schedule file carried
 * over into rows, and the bad inputs: an app that does not import, a schedule Metronome cannot
 * represent — one clear line each, and nothing written.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { PYTHON, requireCelery } from '../support/celery-worker.ts';
import { beat, ROOT } from '../support/cli.ts';
import { type DeclarationDir, declarationDir } from '../support/declarations.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

const APP = `
import os
from datetime import datetime, timedelta, timezone

from celery import Celery
from celery.schedules import crontab, schedule, solar

variant = os.environ.get('MT_APP_VARIANT', 'utc')
app = Celery('importapp', broker='memory://')


# Connected before the first read of app.conf below, which configures the app and fires it.
@app.on_after_configure.connect
def weekly(sender, **kwargs):
    if variant != 'short':
        sender.add_periodic_task(crontab(hour=7, minute=30, day_of_week=1), app.signature('tasks.record', args=('weekly',)), name='weekly-monday')


app.conf.timezone = 'Europe/Berlin' if variant == 'berlin' else 'UTC'

app.conf.beat_schedule = {
    'add-every-30': {'task': 'tasks.add', 'schedule': 30.0, 'args': (16, 16)},
    'every-5m': {
        'task': 'tasks.record', 'schedule': timedelta(minutes=5),
        'kwargs': {'since': datetime(2026, 1, 1, tzinfo=timezone.utc), 'n': 1},
    },
    'hourly-relative': {'task': 'tasks.record', 'schedule': schedule(timedelta(hours=1), relative=True)},
    'weekdays-0230': {
        'task': 'reports.daily', 'schedule': crontab(minute=30, hour=2, day_of_week='mon-fri'),
        'options': {'queue': 'reports', 'priority': 5, 'expires': 600, 'exchange': 'reports',
                    'time_limit': 120, 'soft_time_limit': 60, 'headers': {'tenant': 'acme'}},
    },
    'daily-0230': {'task': 'reports.daily', 'schedule': crontab(minute=30, hour=2)},
    'first-monday': {'task': 'reports.monthly', 'schedule': crontab(minute=0, hour=9, day_of_week=1, day_of_month='1-7')},
    'weekend-quarters': {'task': 'reports.weekend', 'schedule': crontab(minute='*/15', hour='8-10', day_of_week='fri-mon')},
    'quarterly': {'task': 'billing.invoice', 'schedule': crontab(minute=0, hour=6, day_of_month=1, month_of_year='*/3')},
    'sunset': {'task': 'home.lights', 'schedule': solar('sunset', 52.52, 13.405)},
}
if variant == 'berlin':
    # Near the pole: days on which the sun only grazes the event's altitude.
    app.conf.beat_schedule['dawn-tromso'] = {'task': 'home.lights', 'schedule': solar('dawn_civil', 69.65, 18.96)}
if variant == 'short':
    app.conf.beat_schedule = {'tick': {'task': 'tasks.record', 'schedule': 2.0}}
    app.conf.result_expires = None  # no celery.backend_cleanup entry


class Fortnightly(schedule):
    """A schedule class of the app's own: Metronome cannot know what it does."""

    def is_due(self, last_run_at):
        return super().is_due(last_run_at)


if variant == 'bad':
    app.conf.beat_schedule['fortnightly'] = {'task': 'tasks.record', 'schedule': Fortnightly(timedelta(days=14))}
    app.conf.beat_schedule['too-fast'] = {'task': 'tasks.record', 'schedule': 0.5}

`;

let db: TestDatabase;
let appDir: string;
let decl: DeclarationDir;

before(async () => {
  requireCelery();
  db = await createTestDatabase();
  decl = declarationDir();
  appDir = path.join(decl.dir, 'app');
  fs.mkdirSync(appDir);
  fs.writeFileSync(path.join(appDir, 'importapp.py'), APP);
  fs.writeFileSync(path.join(appDir, 'brokenapp.py'), "raise RuntimeError('boom at import')\n");
});

after(async () => {
  decl?.cleanup();
  await db?.drop();
});

const env = (variant: string) => ({ PYTHONPATH: appDir, MT_APP_VARIANT: variant, DATABASE_URL: db.url });
const importCelery = (variant: string, ...args: string[]) =>
  beat(['import', 'celery', '--app', 'importapp:app', '--python', PYTHON, ...args], env(variant));

const ENTRIES = [
  'add-every-30',
  'every-5m',
  'hourly-relative',
  'weekdays-0230',
  'daily-0230',
  'first-monday',
  'weekend-quarters',
  'quarterly',
  'sunset',
  'weekly-monday',
  'celery.backend_cleanup',
];

test('every entry kind into schedules/celery.ts: it type-checks, syncs, and a re-run rewrites nothing', async () => {
  const out = path.join(decl.rel, 'schedules', 'celery.ts');
  const first = await importCelery('berlin', '--out', out);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /Wrote .*celery\.ts: 12 added, 0 changed, 0 removed, 0 unchanged/);
  // Never dropped silently: the options Metronome has no use for are listed, with the reason.
  assert.match(
    first.stdout,
    /weekdays-0230: options\.exchange reports: not carried over: Metronome publishes straight/,
  );
  const text = fs.readFileSync(path.join(ROOT, out), 'utf8');
  assert.match(text, /\/\/ Not carried over: options\.exchange reports: /);
  for (const name of [...ENTRIES, 'dawn-tromso'])
    assert.match(text, new RegExp(`name: '${name.replace('.', '\\.')}'`));
  // Celery's meaning kept: its object form (all fields must match) in the app's zone, its own texts.
  assert.match(
    text,
    /schedule: crontab\(\{ minute: 0, hour: 9, dayOfWeek: 1, dayOfMonth: '1-7' \}, \{ tz: 'Europe\/Berlin' \}\)/,
  );
  // fri-mon wraps around the week in Celery, which cron syntax cannot say: the values are listed.
  assert.match(text, /crontab\(\{ minute: '\*\/15', hour: '8-10', dayOfWeek: \[0, 1, 5, 6\] \}/);
  assert.match(text, /schedule: every\('30s'\),\n {2}args: \[16, 16\],/);
  assert.match(text, /kwargs: \{ since: '2026-01-01T00:00:00Z', n: 1 \}/, 'what the JSON serializer sends');
  assert.match(
    text,
    /queue: 'reports',\n {2}priority: 5,\n {2}headers: \{ tenant: 'acme' \},\n {2}expires: '10m',\n {2}timeLimit: '120s',\n {2}softTimeLimit: '60s',/,
  );

  // It type-checks as a user's file would.
  fs.writeFileSync(
    path.join(decl.dir, 'tsconfig.json'),
    JSON.stringify({
      extends: path.relative(decl.dir, path.join(ROOT, 'tsconfig.json')),
      include: ['schedules/*.ts'],
    }),
  );
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(decl.dir, 'tsconfig.json')], {
    cwd: ROOT,
    stdio: 'pipe',
  });

  const synced = await beat(['sync', '--dir', path.join(decl.rel, 'schedules')], { DATABASE_URL: db.url });
  assert.equal(synced.code, 0, synced.stderr);
  assert.match(synced.stdout, /12 created/);
  const rows = await db.sql<{ name: string; cron_fields: unknown; timezone: string }[]>`
    select name, cron_fields, timezone from metronome.schedules where name = 'weekend-quarters'`;
  assert.deepEqual(rows[0]?.cron_fields, { minute: '*/15', hour: '8-10', dayOfWeek: [0, 1, 5, 6] });

  const again = await importCelery('berlin', '--out', out);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /is up to date \(0 added, 0 changed, 0 removed, 12 unchanged\)/);
});

test("--check: Celery's own times and Metronome's agree, and where they do not, each instant is shown with its reason", async () => {
  const from = ['--from', '2027-01-01T00:00:00Z'];
  const equal = await importCelery('utc', '--check', ...from);
  assert.equal(equal.code, 0, equal.stdout + equal.stderr);
  assert.match(equal.stdout, /Equal: every fire in the window is at the same instant/);
  for (const name of ENTRIES) assert.match(equal.stdout, new RegExp(`equal {4}${name.replace('.', '\\.')} `));

  const differs = await importCelery('berlin', '--check', ...from, '--json');
  assert.equal(differs.code, 1, differs.stderr);
  const report = JSON.parse(differs.stdout) as {
    schedules: {
      name: string;
      differences: { celery: string | null; metronome: string | null; reason: string }[];
    }[];
  };
  const of = (name: string) => report.schedules.find((s) => s.name === name)!;
  for (const name of [
    'weekdays-0230',
    'first-monday',
    'weekend-quarters',
    'quarterly',
    'sunset',
    'weekly-monday',
  ]) {
    assert.deepEqual(of(name).differences, [], `${name} is equal`);
  }
  // 02:30 does not exist on 28 March 2027 in Berlin: Metronome runs it at 03:30 (RFC 5545).
  const gap = of('daily-0230').differences.find((d) => d.metronome === '2027-03-28T01:30:00.000Z');
  assert.ok(gap, JSON.stringify(of('daily-0230').differences));
  assert.match(gap.reason, /^DST gap: 02:30:00 does not exist that day; Metronome runs it 1h later/);
  // Celery's interval arithmetic around the change; solar near the pole.
  for (const d of of('add-every-30').differences) assert.match(d.reason, /^Celery's DST bug for intervals/);
  assert.ok(of('add-every-30').differences.length > 0);
  // Near the pole Celery's own code raises on the first day without civil dawn (celery beat stops).
  const tromso = of('dawn-tromso').differences;
  assert.match(
    tromso.at(-1)!.reason,
    /^Celery's code fails here \(TypeError: .*ephem\.Date.*\): Celery's known bug/,
  );
  for (const d of tromso.slice(0, -1)) assert.match(d.reason, /^solar near the poles/);
  for (const s of report.schedules) {
    for (const d of s.differences)
      assert.doesNotMatch(d.reason, /no known cause/, `${s.name}: ${JSON.stringify(d)}`);
  }
  const table = await importCelery('berlin', '--check', ...from);
  assert.equal(table.code, 1);
  assert.match(
    table.stdout,
    /daily-0230 +2027-03-28T01:00:00\.000Z +2027-03-28T01:30:00\.000Z +2027-03-28 03:00:00 \+02:00 \/ 2027-03-28 03:30:00 \+02:00 +DST gap/,
  );
});

test("--to-db carries celery beat's last runs over from its schedule file", async () => {
  // A real celery beat (PersistentScheduler) runs the app for a few seconds and writes its file.
  const scheduleFile = path.join(decl.dir, 'celerybeat-schedule');
  const celeryBeat = spawn(
    PYTHON,
    ['-m', 'celery', '-A', 'importapp', 'beat', '-s', scheduleFile, '--loglevel=INFO'],
    {
      cwd: appDir,
      env: { ...process.env, PYTHONPATH: appDir, MT_APP_VARIANT: 'short' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  celeryBeat.stderr.on('data', (d) => {
    log += d;
  });
  const exited = new Promise((resolve) => celeryBeat.on('exit', resolve));
  const deadline = Date.now() + 20_000;
  while ((log.match(/Sending due task tick/g) ?? []).length < 2) {
    assert.ok(
      Date.now() < deadline && celeryBeat.exitCode === null,
      `celery beat did not send tick twice:\n${log}`,
    );
    await new Promise((r) => setTimeout(r, 100));
  }
  celeryBeat.kill('SIGTERM'); // celery beat writes its schedule file as it stops
  await exited;
  const stored = JSON.parse(
    execFileSync(
      PYTHON,
      [
        '-c',
        `import json, shelve; s = shelve.open(${JSON.stringify(scheduleFile)}, flag='r'); print(json.dumps(s['entries']['tick'].last_run_at.isoformat()))`,
      ],
      { cwd: appDir, env: { ...process.env, PYTHONPATH: appDir }, encoding: 'utf8' },
    ),
  ) as string;
  const lastRun = Date.parse(stored);

  const flags = ['--to-db', '--schedule-file', scheduleFile, '--overlap', 'allow', '--catchup-window', '6h'];
  const imported = await importCelery('short', ...flags);
  assert.equal(imported.code, 0, imported.stderr);
  const [tick] = await db.sql<
    {
      managed_by: string;
      source: string;
      last_fire_at: Date;
      next_fire_at: Date;
      anchor_at: Date;
      overlap: string;
      catchup_window_ms: number;
    }[]
  >`select managed_by, source, last_fire_at, next_fire_at, anchor_at, overlap, catchup_window_ms
      from metronome.schedules where name = 'tick'`;
  assert.equal(tick?.overlap, 'allow', "--overlap allow keeps Celery's behaviour");
  assert.equal(Number(tick?.catchup_window_ms), 6 * 3_600_000);
  assert.equal(tick?.managed_by, 'db');
  assert.equal(tick?.source, 'celery importapp:app');
  assert.equal(tick?.last_fire_at.getTime(), lastRun, "celery beat's last run");
  assert.equal(tick?.anchor_at.getTime(), lastRun, 'the grid runs from it');
  assert.equal(
    tick?.next_fire_at.getTime(),
    lastRun + 2_000,
    'the first fire is the one celery beat would have made next',
  );

  const again = await importCelery('short', ...flags);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /0 created, 0 updated, 1 unchanged/);
});

test('bad input: one clear line naming the app or the entry, and nothing written', async () => {
  const out = path.join(decl.rel, 'bad', 'celery.ts');
  const count = async () =>
    (await db.sql<{ n: number }[]>`select count(*)::int as n from metronome.schedules`)[0]!.n;
  const rows = await count();

  const missing = await beat(
    ['import', 'celery', '--app', 'nosuch_module:app', '--python', PYTHON, '--out', out],
    env('utc'),
  );
  assert.equal(missing.code, 2);
  assert.equal(
    missing.stderr.trim(),
    `beat: loading the Celery app "nosuch_module:app": cannot load the Celery app 'nosuch_module:app': ModuleNotFoundError: No module named 'nosuch_module'`,
  );
  const broken = await beat(
    ['import', 'celery', '--app', 'brokenapp:app', '--python', PYTHON, '--to-db'],
    env('utc'),
  );
  assert.equal(broken.code, 2);
  assert.match(
    broken.stderr,
    /^beat: loading the Celery app "brokenapp:app": .*RuntimeError: boom at import\n$/,
  );

  const bad = await importCelery('bad', '--out', out);
  assert.equal(bad.code, 2);
  const lines = bad.stderr.trim().split('\n');
  assert.match(lines[0]!, /^beat: beat import celery --app importapp:app: 2 problems; nothing was written:$/);
  assert.match(
    bad.stderr,
    /\n {2}beat_schedule entry "fortnightly": its schedule is a importapp\.Fortnightly \(<freq: 14\.00 days>\), which Metronome cannot represent; use crontab\(\.\.\.\), a number of seconds or a timedelta, or solar\(\.\.\.\)\n/,
  );
  assert.match(
    bad.stderr,
    /\n {2}beat_schedule entry "too-fast": it runs every 0\.5 s; Metronome's shortest interval is 1 second/,
  );
  assert.equal(fs.existsSync(path.join(ROOT, out)), false, 'no file written');
  const badDb = await importCelery('bad', '--to-db');
  assert.equal(badDb.code, 2);
  assert.equal(await count(), rows, 'no row written');
});
