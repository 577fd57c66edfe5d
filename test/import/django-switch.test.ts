/**
 * The switch from django-celery-beat, end to end: Django's own migrations create django-celery-beat's
 * tables in a test database, periodic tasks of every kind are added through the Django ORM (with the
 * last runs celery beat left behind), `beat import django-celery-beat` imports them, and a real beat
 * (bin/beat.js) sends them to a real Celery worker. celery beat's own scheduler entry
 * (`ModelEntry.is_due`) says when it would have run each; the worker's record says when Metronome
 * did: the first runs are at those instants, each once, and a fire that fell due during the switch
 * runs once at start — no catch-up storm, no double fire. Then re-running the import.
 *
 * Nothing here depends on how fast the machine is: Metronome's beat leads before the import (the
 * rows reach it as they are written, as at a switch), Celery's answers are taken with its clocks
 * frozen at the instant the tasks' last runs are relative to, and each first slot lies a whole
 * interval before the next, so a slow import still finds the same slot due (catch-up `latest`).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { celeryBeatEnv } from '../support/beat-env.ts';
import { BeatProcess, eventually, sleep } from '../support/beat-process.ts';
import { settled } from '../support/celery-schedules.ts';
import {
  CeleryWorker,
  cleanupCeleryDirs,
  duplicates,
  requireCelery,
  type WorkerRecord,
} from '../support/celery-worker.ts';
import { beat } from '../support/cli.ts';
import {
  type CeleryNext,
  django,
  type PeriodicTaskSpec,
  requireDjangoCeleryBeat,
} from '../support/django-celery-beat.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';
import { RedisServerProcess } from '../support/redis.ts';

let db: TestDatabase;
let redis: RedisServerProcess;
let worker: CeleryWorker;
let runner: BeatProcess | undefined;

before(async () => {
  requireCelery();
  requireDjangoCeleryBeat();
  db = await createTestDatabase();
  django(db.url, 'migrate');
  redis = await RedisServerProcess.start();
  worker = await CeleryWorker.start({
    broker: `${redis.url}/0`,
    backend: `${redis.url}/1`,
    queues: ['celery', 'imports'],
    concurrency: 4,
  });
});

after(async () => {
  await runner?.stop();
  await worker?.stop();
  await redis?.stop();
  await db?.drop();
  cleanupCeleryDirs();
});

const iso = (ms: number) => new Date(ms).toISOString();
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

function beatEnv(): Record<string, string> {
  return celeryBeatEnv(db.url, { broker: `${redis.url}/0`, backend: `${redis.url}/1` });
}

const runsOf = (records: WorkerRecord[], name: string) =>
  records
    .filter((r) => r.event === 'start' && r.periodic_task_name === name)
    .map((r) => ({ ...r, scheduledFor: Date.parse(String(r.scheduled_for)), startedAt: r.t * 1000 }))
    .sort((a, b) => a.scheduledFor - b.scheduledFor);

test('the first runs are the ones celery beat would have made, each once; a fire due at the switch runs once', async () => {
  // Metronome's beat leads first, with nothing to run: the import's rows reach it as they are written.
  const migrated = await beat(['migrate'], { DATABASE_URL: db.url });
  assert.equal(migrated.code, 0, migrated.stderr);
  runner = new BeatProcess('beat', beatEnv());
  await runner.waitForLog('leading', 120_000);

  // The crontab cases are set up relative to this minute: start early enough in one.
  if (Date.now() % MINUTE > 40 * SECOND) await sleep(MINUTE - (Date.now() % MINUTE) + 200);
  const t0 = Date.now();
  const minute = Math.floor(t0 / MINUTE) * MINUTE;
  const tasks: PeriodicTaskSpec[] = [
    // Celery's next run: its last run + 40 s, 34.345 s from now (not on the epoch's 40 s grid).
    {
      name: 'every-40s',
      task: 'tasks.record',
      interval: { every: 40, period: 'seconds' },
      last_run_at: iso(t0 - 5_655),
      args: [2, 3],
      kwargs: { k: 'v' },
      headers: { tenant: 'acme' },
      priority: 7,
      queue: 'imports',
      exchange: 'imports',
      expire_seconds: 120,
    },
    // Due 30 s ago, while neither beat ran: celery beat would send it at once.
    {
      name: 'due-at-switch',
      task: 'tasks.record',
      interval: { every: 1, period: 'hours' },
      last_run_at: iso(t0 - HOUR - 30 * SECOND),
    },
    // celery beat was down for two hours: one run now (catch-up latest), the rest recorded missed.
    {
      name: 'long-down',
      task: 'tasks.record',
      interval: { every: 30, period: 'seconds' },
      last_run_at: iso(t0 - 2 * HOUR - 400),
    },
    // Celery's crontab, in a zone of its own: ran this minute, so next the next minute.
    {
      name: 'cron-next',
      task: 'tasks.record',
      crontab: { minute: '*', hour: '*', timezone: 'Asia/Kolkata' },
      last_run_at: iso(minute + 300),
    },
    // Ran the minute before this one: this minute's slot fell due during the switch.
    {
      name: 'cron-due',
      task: 'tasks.record',
      crontab: { minute: '*', day_of_week: 'mon-sun', timezone: 'Europe/Berlin' },
      last_run_at: iso(minute - MINUTE + 300),
    },
    { name: 'once', task: 'tasks.record', clocked: iso(t0 + 30_000), one_off: true },
    {
      name: 'once-done',
      task: 'tasks.record',
      clocked: iso(t0 - HOUR),
      one_off: true,
      total_run_count: 1,
      last_run_at: iso(t0 - HOUR),
    },
    {
      name: 'one-off-interval',
      task: 'tasks.record',
      interval: { every: 40, period: 'seconds' },
      one_off: true,
      last_run_at: iso(t0 - 3_500),
    },
    {
      name: 'starts-later',
      task: 'tasks.record',
      interval: { every: 60, period: 'seconds' },
      start_time: iso(t0 + 32_000),
    },
    { name: 'switched-off', task: 'tasks.record', interval: { every: 2, period: 'seconds' }, enabled: false },
    { name: 'sunset', task: 'tasks.record', solar: { event: 'sunset', latitude: 52.52, longitude: 13.405 } },
  ];
  django(db.url, 'add', tasks);

  const imported = await beat(['import', 'django-celery-beat'], { DATABASE_URL: db.url });
  const importedAt = Date.now();
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stdout, /Imported into .*: 11 created, 0 updated, 0 unchanged/);
  assert.match(
    imported.stdout,
    /every-40s: exchange imports: not carried over: Metronome publishes straight to the queue/,
  );

  // What celery beat's DatabaseScheduler says at t0, with its own code: due, or due in N seconds.
  const named = tasks.map((t) => t.name);
  // (Not the disabled ones: asking celery beat's entry about a finished one-off disables it in Django.)
  const asked = named.filter((n) => n !== 'once-done' && n !== 'switched-off');
  const celery = django<Record<string, CeleryNext>>(db.url, 'celery-next', { names: asked, at: iso(t0) });
  const celeryNext = (name: string): number => {
    const c = celery[name]!;
    assert.ok(!c.due, `${name}: celery beat would send it at once (${JSON.stringify(c)}), not later`);
    return Date.parse(c.now) + c.seconds * 1000;
  };
  for (const name of ['due-at-switch', 'long-down', 'cron-due'])
    assert.equal(celery[name]!.due, true, `${name} is due for Celery`);

  const expectations = ['every-40s', 'cron-next', 'once', 'one-off-interval'].map((name) => ({
    name,
    at: celeryNext(name),
  }));
  // Before its start_time, celery beat's entry only says "check again in ceil(seconds)": it sends at
  // the first check at or after start_time, within a second of it.
  const startTime = Date.parse(tasks.find((t) => t.name === 'starts-later')!.start_time!);
  assert.ok(Math.abs(celeryNext('starts-later') - startTime) < 1_000);
  expectations.push({ name: 'starts-later', at: startTime });
  // Watch until every expected first run has happened and every-40s has run a second time, a
  // slot after the last of them (each is to run once).
  await eventually(
    'the expected first runs, and a second run of every-40s',
    180_000,
    () =>
      expectations.every((e) => runsOf(worker.records(), e.name).length > 0) &&
      runsOf(worker.records(), 'every-40s').length >= 2 &&
      runsOf(worker.records(), 'every-40s')[1]!.scheduledFor > Math.max(...expectations.map((e) => e.at)),
  );
  // Settle while the beat still runs: it is the one that follows each run to its end (a stopped beat
  // leaves a run it sent moments before as 'enqueued', for the next leader to follow).
  await settled(db.sql, named, 30_000);
  await runner.stop();
  runner = undefined;
  const records = worker.records();
  assert.deepEqual(duplicates(records), [], 'no task id ran twice');

  for (const { name, at } of expectations) {
    const runs = runsOf(records, name);
    const first = runs[0]!;
    assert.ok(
      Math.abs(first.scheduledFor - at) < 50,
      `${name}: first run for ${iso(first.scheduledFor)}, Celery's next is ${iso(at)}`,
    );
    assert.ok(first.startedAt >= first.scheduledFor - 50, `${name} did not run early`);
    // As soon as it could: at its slot, or (a slow import) when its row arrived.
    const could = Math.max(first.scheduledFor, importedAt);
    assert.ok(
      first.startedAt - could < 60_000,
      `${name} ran ${first.startedAt - could} ms after it could have`,
    );
    assert.equal(new Set(runs.map((r) => r.scheduledFor)).size, runs.length, `${name}: each slot once`);
  }

  // every-40s: its message as django-celery-beat would send it; then every 40 s after Celery's next.
  const every = runsOf(records, 'every-40s');
  const anchor = celeryNext('every-40s');
  for (const run of every) {
    const offGrid = (run.scheduledFor - anchor) % 40_000;
    assert.ok(
      Math.min(Math.abs(offGrid), 40_000 - Math.abs(offGrid)) < 50,
      'every 40 s from Celery’s next run',
    );
    assert.deepEqual(run.args, [2, 3]);
    assert.deepEqual(run.kwargs, { k: 'v' });
    assert.equal(run.tenant, 'acme');
    assert.equal(run.priority, 7);
    assert.equal(run.routing_key, 'imports');
  }
  assert.ok(every.length >= 2);

  // Due during the switch: one run as soon as it is imported, for the slot celery beat would have sent.
  const due = runsOf(records, 'due-at-switch');
  assert.equal(due.length, 1, 'due-at-switch ran once');
  assert.equal(due[0]!.scheduledFor, Date.parse(tasks[1]!.last_run_at!) + HOUR);
  assert.ok(due[0]!.startedAt - importedAt < 60_000, 'at start');

  const cronDue = runsOf(records, 'cron-due');
  assert.equal(cronDue[0]!.scheduledFor, minute, "cron-due: this minute's slot, once");
  assert.ok(cronDue[0]!.startedAt - importedAt < 60_000);
  assert.equal(cronDue.filter((r) => r.scheduledFor === minute).length, 1);

  // Two hours down: no storm. One catch-up run, the missed slots recorded, then its 30 s grid.
  const long = runsOf(records, 'long-down');
  const lastRun = Date.parse(tasks[2]!.last_run_at!);
  assert.equal(
    long.filter((r) => r.scheduledFor <= importedAt).length,
    1,
    'one catch-up run for the two hours it was down',
  );
  for (const run of long)
    assert.equal((run.scheduledFor - lastRun) % 30_000, 0, 'on the grid of its last run');
  const [missed] = await db.sql<{ n: number }[]>`select count(*)::int as n from metronome.occurrences
    where schedule_name = 'long-down' and status = 'missed'`;
  assert.ok(missed!.n >= 200, `long-down: ${missed!.n} missed slots recorded`);

  assert.equal(runsOf(records, 'once').length, 1, 'a clocked one-off runs once');
  assert.equal(runsOf(records, 'one-off-interval').length, 1, 'one_off: once');
  assert.equal(
    runsOf(records, 'once-done').length,
    0,
    'a one-off celery beat already ran does not run again',
  );
  assert.equal(runsOf(records, 'switched-off').length, 0, 'a disabled task stays disabled');

  // The solar task's next fire is Celery's (within a minute: two sun models).
  const [sunset] = await db.sql<
    { next_fire_at: Date }[]
  >`select next_fire_at from metronome.schedules where name = 'sunset'`;
  const celerySunset = Date.parse(celery.sunset!.now) + celery.sunset!.seconds * 1000;
  assert.ok(
    Math.abs(sunset!.next_fire_at.getTime() - celerySunset) < MINUTE,
    'sunset: Celery and Metronome agree',
  );
});

test('re-running the import reports what changed, carries newer last runs over, and never rewinds a cursor', async () => {
  const cursors = async () =>
    new Map(
      (
        await db.sql<{ name: string; next_fire_at: Date | null; version: number }[]>`
        select name, next_fire_at, version from metronome.schedules order by name`
      ).map((r) => [r.name, r]),
    );
  const before = await cursors();
  const again = await beat(['import', 'django-celery-beat'], { DATABASE_URL: db.url });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /0 created, 0 updated, 11 unchanged/);
  assert.deepEqual(
    await cursors(),
    before,
    'an unchanged import writes nothing, and Metronome’s own cursors stay',
  );

  // Meanwhile, in Django: an edited task, a removed one, a new one, and a newer last run.
  const lastRun = new Date(Date.now() - 1_000).toISOString();
  django(db.url, 'update', { 'every-40s': { kwargs: { k: 'w' } }, sunset: { last_run_at: lastRun } });
  django(db.url, 'delete', ['switched-off']);
  django(db.url, 'add', [
    {
      name: 'nightly',
      task: 'reports.daily',
      crontab: { minute: '30', hour: '2', timezone: 'Europe/Berlin' },
    },
  ]);

  const dry = await beat(['import', 'django-celery-beat', '--dry-run'], { DATABASE_URL: db.url });
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /Dry run: nothing written/);
  assert.deepEqual(await cursors(), before, 'a dry run writes nothing');

  const changed = await beat(['import', 'django-celery-beat', '--json'], { DATABASE_URL: db.url });
  assert.equal(changed.code, 0, changed.stderr);
  const plan = JSON.parse(changed.stdout) as {
    plan: { action: string; name: string; changes?: { field: string; from: unknown; to: unknown }[] }[];
  };
  const byName = new Map(plan.plan.map((p) => [p.name, p]));
  assert.equal(byName.get('nightly')?.action, 'create');
  assert.equal(byName.get('switched-off')?.action, 'orphan', 'a task deleted in Django is kept and listed');
  assert.deepEqual(byName.get('every-40s')?.changes, [{ field: 'kwargs', from: { k: 'v' }, to: { k: 'w' } }]);
  const sunset = byName.get('sunset');
  assert.equal(sunset?.action, 'update');
  assert.deepEqual(
    sunset?.changes?.find((c) => c.field === 'last_fire_at'),
    { field: 'last_fire_at', from: null, to: lastRun },
    "celery beat's newer last run is carried over",
  );
  const after = await cursors();
  assert.equal(
    after.get('every-40s')!.next_fire_at?.getTime(),
    before.get('every-40s')!.next_fire_at?.getTime(),
    'a kwargs change keeps the cursor',
  );
  assert.ok(after.has('switched-off'), 'orphans are kept');
});
