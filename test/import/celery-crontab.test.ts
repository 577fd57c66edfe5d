/**
 * Celery's crontab field syntax read in TypeScript (django-celery-beat rows are read with SQL, no
 * Python) against Celery 5.2's own `crontab_parser`, run in Debian's Python: the same values, or the
 * same error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CELERY_FIELDS, CeleryCrontabError, parseCeleryField } from '../../src/import/celery-crontab.ts';
import { toCronFields } from '../../src/import/cron-fields.ts';
import { compileSchedule } from '../../src/time/index.ts';
import { pythonMapResults } from '../transports/python.ts';

const SPECS: Record<keyof typeof CELERY_FIELDS, string[]> = {
  minute: [
    '*',
    '0',
    '59',
    '*/15',
    '0-30/10',
    '5,10,55',
    '50-10',
    '1-5,*/20',
    '60',
    '-1',
    '',
    '1,,2',
    '*/0',
    '5/15',
    'mon',
    'a-b',
    '*/',
    '1-5/',
    ' 7',
    '01',
  ],
  hour: ['*', '*/2', '8-17', '0,8-17/2', '22-2', '24', 'x'],
  dayOfWeek: [
    '*',
    'mon-fri',
    'fri-mon',
    'sunday',
    'Sun,Sat',
    '0-6',
    '*/2',
    '1-5/2',
    '7',
    'funday',
    'sat-sun',
  ],
  dayOfMonth: ['*', '1', '1-7', '31', '*/10', '28-3', '0', '32', 'L'],
  monthOfYear: ['*', '1', '*/3', '12', '11-2', '0', '13', 'jan'],
};

const cases = Object.entries(SPECS).flatMap(([key, specs]) =>
  specs.map((spec) => ({ key: key as keyof typeof CELERY_FIELDS, spec })),
);

test("every field spec reads as Celery's crontab_parser reads it (values, or an error with Celery's words)", () => {
  const celery = pythonMapResults<number[]>(
    cases.map((c) => JSON.stringify([c.spec, CELERY_FIELDS[c.key].size, CELERY_FIELDS[c.key].min])),
    `spec, max_, min_ = json.loads(line)
values = crontab._expand_cronspec(spec, max_, min_)
out = sorted(values)`,
    'from celery.schedules import crontab',
  );
  cases.forEach(({ key, spec }, i) => {
    const reference = celery[i]!;
    let ours: number[] | CeleryCrontabError;
    try {
      ours = parseCeleryField(spec, CELERY_FIELDS[key]);
    } catch (error) {
      assert.ok(error instanceof CeleryCrontabError, `${key} ${JSON.stringify(spec)}: ${error}`);
      ours = error;
    }
    if (reference.ok !== undefined) {
      assert.deepEqual(ours, reference.ok, `${key} ${JSON.stringify(spec)}`);
    } else {
      assert.ok(
        ours instanceof CeleryCrontabError,
        `${key} ${JSON.stringify(spec)}: Celery says ${reference.error}, we read ${ours}`,
      );
      assert.ok(
        reference.error!.includes(ours.message),
        `${key} ${JSON.stringify(spec)}: ${reference.error} vs ${ours.message}`,
      );
    }
  });
});

test('Metronome keeps the text Celery was given when it reads it the same way, and lists the values otherwise', () => {
  const field = (key: keyof typeof CELERY_FIELDS, orig: string) => ({
    orig,
    values: parseCeleryField(orig, CELERY_FIELDS[key]),
  });
  const fields = {
    minute: field('minute', '*/15'),
    hour: field('hour', '22-2'),
    dayOfWeek: field('dayOfWeek', 'mon-fri'),
    dayOfMonth: field('dayOfMonth', '*'),
    monthOfYear: field('monthOfYear', '1-12'),
  };
  const cron = toCronFields(fields);
  assert.deepEqual(cron, { minute: '*/15', hour: [0, 1, 2, 22, 23], dayOfWeek: 'mon-fri' });
  // And Metronome's engine fires on exactly Celery's sets (all fields must match).
  const schedule = compileSchedule({ kind: 'crontab', cron, timezone: 'UTC' });
  const fires = [...Array(8)].reduce<number[]>((acc) => {
    const next = schedule.next(acc.at(-1) ?? Date.parse('2027-01-01T21:00:00Z'))!;
    return [...acc, next];
  }, []);
  assert.deepEqual(
    fires.map((t) => new Date(t).toISOString().slice(0, 16)),
    [
      '2027-01-01T22:00',
      '2027-01-01T22:15',
      '2027-01-01T22:30',
      '2027-01-01T22:45',
      '2027-01-01T23:00',
      '2027-01-01T23:15',
      '2027-01-01T23:30',
      '2027-01-01T23:45',
    ],
  );
  assert.deepEqual(toCronFields({ ...fields, minute: { orig: null, values: [] } }), { empty: 'minute' });
});
