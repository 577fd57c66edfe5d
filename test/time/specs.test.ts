import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  compileSchedule,
  formatDuration,
  jitterFor,
  parseDuration,
  type ScheduleSpec,
  ScheduleSpecError,
} from '../../src/time/index.ts';

const after = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
function first(spec: ScheduleSpec, n = 3, name = 'spec-test', from = after): string[] {
  const out: string[] = [];
  for (const at of compileSchedule(spec, { name }).fires(from)) {
    out.push(iso(at) as string);
    if (out.length === n) break;
  }
  return out;
}
function specError(spec: unknown, name?: string): ScheduleSpecError {
  try {
    compileSchedule(spec, { name });
  } catch (error) {
    assert.ok(error instanceof ScheduleSpecError, `expected ScheduleSpecError, got ${String(error)}`);
    return error;
  }
  assert.fail(`no error for ${JSON.stringify(spec)}`);
}

describe('invalid specs name the field, the value and what is allowed', () => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    [
      'unknown zone',
      { kind: 'crontab', cron: '0 0 * * *', timezone: 'Mars/Olympus' },
      'timezone',
      /unknown time zone/,
    ],
    [
      'zone suggestion',
      { kind: 'crontab', cron: '0 0 * * *', timezone: 'Berlin' },
      'timezone',
      /did you mean "Europe\/Berlin"/,
    ],
    ['missing zone', { kind: 'crontab', cron: '0 0 * * *' }, 'timezone', /required/],
    ['minute 61', { kind: 'crontab', cron: '61 * * * *', timezone: 'UTC' }, 'cron.minute', /61/],
    ['hour 24', { kind: 'crontab', cron: '0 24 * * *', timezone: 'UTC' }, 'cron.hour', /24/],
    ['never fires', { kind: 'crontab', cron: '0 0 30 2 *', timezone: 'UTC' }, 'cron', /never fire/],
    [
      'never fires (Celery rule)',
      { kind: 'crontab', cron: { dayOfMonth: 31, monthOfYear: '4,6,9,11' }, timezone: 'UTC' },
      'cron',
      /never/,
    ],
    ['too many fields', { kind: 'crontab', cron: '0 0 * * * * *', timezone: 'UTC' }, 'cron', /7 fields/],
    ['unknown macro', { kind: 'crontab', cron: '@reboot', timezone: 'UTC' }, 'cron', /unknown macro/],
    ['H without a name', { kind: 'crontab', cron: 'H * * * *', timezone: 'UTC' }, 'cron', /name/],
    [
      'latitude 200',
      { kind: 'solar', event: 'sunset', latitude: 200, longitude: 0 },
      'latitude',
      /-90 to 90/,
    ],
    [
      'longitude NaN',
      { kind: 'solar', event: 'sunset', latitude: 0, longitude: Number.NaN },
      'longitude',
      /-180 to 180/,
    ],
    [
      'unknown solar event',
      { kind: 'solar', event: 'moonrise', latitude: 0, longitude: 0 },
      'event',
      /sunrise/,
    ],
    ['interval 0', { kind: 'interval', every: 0 }, 'every', /1s/],
    ['interval 500ms', { kind: 'interval', every: '500ms' }, 'every', /shorter than one second/],
    ['interval without unit', { kind: 'interval', every: '15' }, 'every', /needs a unit/],
    ['clocked without offset', { kind: 'clocked', runAt: '2026-01-01T00:00:00' }, 'runAt', /offset/],
    ['unknown kind', { kind: 'weekly' }, 'kind', /crontab, interval, solar, clocked/],
    ['not an object', 'every 5 minutes', 'schedule', /object/],
    [
      'unknown Celery field',
      { kind: 'crontab', cron: { minutes: 5 }, timezone: 'UTC' },
      'cron.minutes',
      /unknown field/,
    ],
  ];
  for (const [label, spec, field, pattern] of cases) {
    test(label, () => {
      const error = specError(spec);
      assert.equal(error.field, field);
      assert.match(error.message, pattern);
      assert.match(error.message, /Allowed: /);
    });
  }

  test('forSchedule puts the schedule name in front', () => {
    const error = specError({ kind: 'interval', every: 0 }).forSchedule('nightly-report');
    assert.match(error.message, /^schedule "nightly-report": every 0 is invalid/);
  });
});

describe('crontab features', () => {
  test('standard cron day matching: day-of-month OR day-of-week when both are restricted', () => {
    // The 13th, or any Friday.
    assert.deepEqual(first({ kind: 'crontab', cron: '0 0 13 * 5', timezone: 'UTC' }), [
      '2026-01-02T00:00:00.000Z',
      '2026-01-09T00:00:00.000Z',
      '2026-01-13T00:00:00.000Z',
    ]);
  });

  test("Celery's object form: all fields must match (first Monday of the month)", () => {
    assert.deepEqual(
      first({
        kind: 'crontab',
        cron: { minute: 0, hour: 9, dayOfWeek: 1, dayOfMonth: '1-7' },
        timezone: 'Europe/Berlin',
      }),
      ['2026-01-05T08:00:00.000Z', '2026-02-02T08:00:00.000Z', '2026-03-02T08:00:00.000Z'],
    );
    assert.deepEqual(
      first({ kind: 'crontab', cron: { minute: [0, 30], hour: '*/12' }, timezone: 'UTC' }, 4),
      [
        '2026-01-01T00:30:00.000Z',
        '2026-01-01T12:00:00.000Z',
        '2026-01-01T12:30:00.000Z',
        '2026-01-02T00:00:00.000Z',
      ],
    );
    assert.equal(
      first({ kind: 'crontab', cron: { dayOfWeek: 'mon-fri', hour: 7, minute: 0 }, timezone: 'UTC' })[0],
      '2026-01-01T07:00:00.000Z',
    );
  });

  test('6 fields with seconds, macros, names, L and #', () => {
    assert.deepEqual(first({ kind: 'crontab', cron: '*/20 * * * * *', timezone: 'UTC' }), [
      '2026-01-01T00:00:20.000Z',
      '2026-01-01T00:00:40.000Z',
      '2026-01-01T00:01:00.000Z',
    ]);
    assert.deepEqual(first({ kind: 'crontab', cron: '@monthly', timezone: 'UTC' }, 2), [
      '2026-02-01T00:00:00.000Z',
      '2026-03-01T00:00:00.000Z',
    ]);
    assert.deepEqual(first({ kind: 'crontab', cron: '0 0 L FEB *', timezone: 'UTC' }, 2), [
      '2026-02-28T00:00:00.000Z',
      '2027-02-28T00:00:00.000Z',
    ]);
    assert.deepEqual(first({ kind: 'crontab', cron: '0 0 * * 5L', timezone: 'UTC' }, 2), [
      '2026-01-30T00:00:00.000Z',
      '2026-02-27T00:00:00.000Z',
    ]);
    assert.deepEqual(first({ kind: 'crontab', cron: '0 0 * * TUE#2', timezone: 'UTC' }, 2), [
      '2026-01-13T00:00:00.000Z',
      '2026-02-10T00:00:00.000Z',
    ]);
    assert.deepEqual(first({ kind: 'crontab', cron: '0 0 29 2 *', timezone: 'UTC' }, 2), [
      '2028-02-29T00:00:00.000Z',
      '2032-02-29T00:00:00.000Z',
    ]);
  });

  test('H is hashed with the schedule name: stable for a name, spread across names', () => {
    const spec: ScheduleSpec = { kind: 'crontab', cron: 'H H * * *', timezone: 'UTC' };
    assert.deepEqual(first(spec, 2, 'billing'), first(spec, 2, 'billing'));
    const distinct = new Set(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((name) => first(spec, 1, name)[0]));
    assert.ok(distinct.size >= 6, `names should spread, got ${distinct.size} distinct times`);
  });

  test('next fire is strictly after a fire instant, also with milliseconds', () => {
    const schedule = compileSchedule({ kind: 'crontab', cron: '0 * * * *', timezone: 'UTC' });
    assert.equal(iso(schedule.next(Date.parse('2026-01-01T01:00:00.000Z'))), '2026-01-01T02:00:00.000Z');
    assert.equal(iso(schedule.next(Date.parse('2026-01-01T00:59:59.999Z'))), '2026-01-01T01:00:00.000Z');
  });
});

describe('interval, clocked, solar', () => {
  test('interval grid anchored at the epoch, or at an anchor', () => {
    assert.deepEqual(first({ kind: 'interval', every: '15m' }, 2, 'x', Date.parse('2026-01-01T00:07:00Z')), [
      '2026-01-01T00:15:00.000Z',
      '2026-01-01T00:30:00.000Z',
    ]);
    assert.deepEqual(first({ kind: 'interval', every: '1h', anchor: '2026-01-01T00:20:00+00:00' }, 2), [
      '2026-01-01T00:20:00.000Z',
      '2026-01-01T01:20:00.000Z',
    ]);
  });

  test('clocked: one instant, then nothing', () => {
    assert.deepEqual(first({ kind: 'clocked', runAt: '2026-05-01T12:00:00+02:00' }), [
      '2026-05-01T10:00:00.000Z',
    ]);
  });

  test('solar: skips polar night, whole seconds', () => {
    // Tromsø: no sunrise from late November to mid January.
    const next = compileSchedule({ kind: 'solar', event: 'sunrise', latitude: 69.65, longitude: 18.96 }).next(
      Date.parse('2026-12-01T00:00:00Z'),
    ) as number;
    assert.ok(
      next > Date.parse('2027-01-10T00:00:00Z') && next < Date.parse('2027-01-20T00:00:00Z'),
      iso(next) as string,
    );
    assert.equal(next % 1000, 0);
  });
});

describe('jitter and durations', () => {
  test('jitter is deterministic, in [0, jitter), and spread', () => {
    const values = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const j = jitterFor('sync-crm', Date.UTC(2026, 0, 1) + i * 60_000, 30_000);
      assert.ok(j >= 0 && j < 30_000 && Number.isInteger(j));
      assert.equal(j, jitterFor('sync-crm', Date.UTC(2026, 0, 1) + i * 60_000, 30_000));
      values.add(Math.floor(j / 3000));
    }
    assert.equal(values.size, 10, 'all ten 3-second buckets are used');
    assert.equal(jitterFor('x', 0, 0), 0);
    assert.notEqual(jitterFor('a', 0, 1e9), jitterFor('b', 0, 1e9));
  });

  test('durations', () => {
    assert.equal(parseDuration('15m', 'every'), 900_000);
    assert.equal(parseDuration('1h30m', 'every'), 5_400_000);
    assert.equal(parseDuration('1.5s', 'every'), 1_500);
    assert.equal(parseDuration(' 2D ', 'every'), 172_800_000);
    assert.equal(parseDuration(60_000, 'every'), 60_000);
    assert.throws(() => parseDuration('15 minutes', 'every'), ScheduleSpecError);
    assert.throws(() => parseDuration(-1, 'every'), ScheduleSpecError);
    assert.equal(formatDuration(5_400_000), '1h30m');
  });
});
