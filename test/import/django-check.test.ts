/**
 * `beat import django-celery-beat --check` against django-celery-beat's own models (Debian's 2.4 on
 * Django 3.2), and its bad input: rows that cannot be imported are each named in one clear line,
 * and nothing is written.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PYTHON, requireCelery } from '../support/celery-worker.ts';
import { beat } from '../support/cli.ts';
import { django, requireDjangoCeleryBeat } from '../support/django-celery-beat.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

let db: TestDatabase;

before(async () => {
  requireCelery();
  requireDjangoCeleryBeat();
  db = await createTestDatabase();
  django(db.url, 'migrate');
  django(db.url, 'add', [
    {
      name: 'daily-0230',
      task: 'reports.daily',
      crontab: { minute: '30', hour: '2', timezone: 'Europe/Berlin' },
    },
    {
      name: 'office-quarters',
      task: 'reports.ping',
      crontab: { minute: '*/15', hour: '9-17', day_of_week: 'mon-fri', timezone: 'America/New_York' },
    },
    {
      name: 'daily-interval',
      task: 'tasks.record',
      interval: { every: 1, period: 'days' },
      last_run_at: '2027-02-27T07:00:00Z',
    },
    { name: 'sunrise', task: 'home.lights', solar: { event: 'sunrise', latitude: 48.85, longitude: 2.35 } },
    { name: 'launch', task: 'marketing.launch', clocked: '2027-03-20T09:00:00Z', one_off: true },
  ]);
});

after(async () => {
  await db?.drop();
});

const check = (...args: string[]) =>
  beat(
    [
      'import',
      'django-celery-beat',
      '--check',
      '--python',
      PYTHON,
      '--from',
      '2027-03-01T00:00:00Z',
      '--window',
      '60d',
      ...args,
    ],
    { DATABASE_URL: db.url },
  );

interface Report {
  equal: boolean;
  schedules: {
    name: string;
    fires: number;
    differences: { celery: string | null; metronome: string | null; reason: string }[];
  }[];
}

test("--check: each task's fires by django-celery-beat's own models and by Metronome, the differences with their reasons", async () => {
  const result = await check('--json');
  assert.equal(result.code, 1, result.stderr);
  const report = JSON.parse(result.stdout) as Report;
  const of = (name: string) => report.schedules.find((s) => s.name === name)!;
  for (const name of ['office-quarters', 'daily-interval', 'sunrise', 'launch']) {
    assert.deepEqual(of(name).differences, [], `${name} is equal`);
    assert.ok(of(name).fires > 0);
  }
  assert.equal(of('launch').fires, 1);
  // 28 March 2027, Europe/Berlin: 02:30 does not exist. Celery runs at the change (03:00), Metronome at 03:30.
  assert.deepEqual(
    of('daily-0230').differences.map(({ celery, metronome }) => ({ celery, metronome })),
    [{ celery: '2027-03-28T01:00:00.000Z', metronome: '2027-03-28T01:30:00.000Z' }],
  );
  assert.match(of('daily-0230').differences[0]!.reason, /^DST gap/);

  // In a project whose zone has DST, Celery's interval keeps its local time across the change.
  const berlin = JSON.parse((await check('--json', '--timezone', 'Europe/Berlin')).stdout) as Report;
  const moved = berlin.schedules.find((s) => s.name === 'daily-interval')!.differences;
  assert.ok(moved.length > 0);
  for (const d of moved) assert.match(d.reason, /^Celery's DST bug for intervals/);

  const text = await check();
  assert.equal(text.code, 1);
  assert.match(text.stdout, /^ {2}differs {2}daily-0230 {2}\(60 fires, 1 difference\)$/m);
  assert.match(text.stdout, /^ {2}equal {4}office-quarters /m);
});

test('bad rows: each named in one line with what is wrong, and nothing is written', async () => {
  django(db.url, 'add', [
    { name: 'broken-cron', task: 'tasks.record', crontab: { minute: '61', timezone: 'UTC' } },
    { name: 'two-schedules', task: 'tasks.record', interval: { every: 5, period: 'minutes' } },
    { name: 'bad-args', task: 'tasks.record', interval: { every: 5, period: 'minutes' } },
  ]);
  // What the ORM refuses, a person can still write with SQL.
  await db.sql`update django_celery_beat_periodictask
    set crontab_id = (select id from django_celery_beat_crontabschedule limit 1) where name = 'two-schedules'`;
  await db.sql`update django_celery_beat_periodictask set args = '[1, 2' where name = 'bad-args'`;
  const ids = new Map(
    (await db.sql<{ id: number; name: string }[]>`select id, name from django_celery_beat_periodictask`).map(
      (r) => [r.name, r.id],
    ),
  );

  for (const args of [[], ['--dry-run'], ['--check', '--python', PYTHON]]) {
    const result = await beat(['import', 'django-celery-beat', ...args], { DATABASE_URL: db.url });
    assert.equal(result.code, 2, result.stdout);
    const lines = result.stderr.split('\n');
    assert.deepEqual(lines.slice(0, 1), [
      'beat: beat import django-celery-beat: 3 problems; nothing was written:',
    ]);
    // (The JSON parser's own words vary between Node versions.)
    assert.match(
      lines[1]!,
      new RegExp(
        `^ {2}periodic task "bad-args" \\(id ${ids.get('bad-args')}\\): args "\\[1, 2" is not valid JSON \\(.+\\); django-celery-beat would disable the task$`,
      ),
    );
    assert.deepEqual(lines.slice(2), [
      `  periodic task "broken-cron" (id ${ids.get('broken-cron')}): crontab minute "61" is invalid: Invalid end range: 61 > 59. (Celery's crontab syntax: numbers, ranges a-b, steps */n or a-b/n, lists, weekday names)`,
      `  periodic task "two-schedules" (id ${ids.get('two-schedules')}): it has 2 schedules (interval, crontab); django-celery-beat allows exactly one`,
      '',
    ]);
  }
  const [exists] = await db.sql<{ n: number }[]>`select count(*)::int as n from information_schema.tables
    where table_schema = 'metronome' and table_name = 'schedules'`;
  if (exists!.n > 0) {
    const [rows] = await db.sql<{ n: number }[]>`select count(*)::int as n from metronome.schedules`;
    assert.equal(rows!.n, 0, 'nothing written');
  }
});
