import assert from 'node:assert/strict';
import { test } from 'node:test';
import { at, crontab, defineSchedule, every, solar } from '../../src/index.ts';
import { parseDeclaration, validateRecord } from '../../src/model/index.ts';
import { NO_CALENDARS } from '../../src/model/validate.ts';
import { scheduleRow } from '../support/rows.ts';

const NOW = Date.parse('2026-11-21T00:00:00Z');

function problems(input: unknown) {
  const result = parseDeclaration(input, NOW);
  assert.equal(result.ok, false, 'expected problems');
  return result.ok ? [] : result.problems;
}

test('a minimal declaration gets the documented defaults', () => {
  const result = parseDeclaration(
    defineSchedule({ name: 'tasks.add', task: 'tasks.add', schedule: every('15m'), args: [2, 3] }),
    NOW,
  );
  assert.ok(result.ok);
  assert.deepEqual(result.fields, {
    task: 'tasks.add',
    kind: 'interval',
    cron: null,
    cronFields: null,
    timezone: null,
    dstPolicy: null,
    everyMs: 900_000,
    anchorAt: null,
    solarEvent: null,
    latitude: null,
    longitude: null,
    runAt: null,
    args: [2, 3],
    kwargs: {},
    queue: null,
    routingKey: null,
    priority: null,
    headers: {},
    expiresMs: null,
    timeLimitS: null,
    softTimeLimitS: null,
    enabled: true,
    startAt: null,
    endAt: null,
    maxRuns: null,
    overlap: 'skip',
    catchup: 'latest',
    catchupWindowMs: 3_600_000,
    jitterMs: 0,
    runLeaseMs: null,
    startDeadlineMs: null,
    finishDeadlineMs: null,
    exclusionGroup: null,
    description: null,
    calendars: [],
    onExcluded: 'skip',
  });
});

test('each builder maps to its columns; durations and instants are normalized', () => {
  const cases = [
    [
      crontab('30 2 * * *', { tz: 'Europe/Berlin' }),
      { kind: 'crontab', cron: '30 2 * * *', timezone: 'Europe/Berlin' },
    ],
    [
      crontab({ minute: 0, hour: 8, dayOfWeek: 1, dayOfMonth: '1-7' }, { tz: 'UTC' }),
      {
        kind: 'crontab',
        cronFields: { minute: 0, hour: 8, dayOfWeek: 1, dayOfMonth: '1-7' },
        timezone: 'UTC',
      },
    ],
    [
      every('1h30m', { anchor: '2026-01-01T00:10:00Z' }),
      { kind: 'interval', everyMs: 5_400_000, anchorAt: new Date('2026-01-01T00:10:00Z') },
    ],
    [
      solar('sunset', 52.52, 13.405),
      { kind: 'solar', solarEvent: 'sunset', latitude: 52.52, longitude: 13.405 },
    ],
    [at(new Date('2030-01-01T09:00:00Z')), { kind: 'clocked', runAt: new Date('2030-01-01T09:00:00Z') }],
  ] as const;
  for (const [schedule, expected] of cases) {
    const result = parseDeclaration(
      defineSchedule({ name: 'x', task: 't', schedule, timeLimit: '5m', expires: '10m', jitter: '30s' }),
      NOW,
    );
    assert.ok(result.ok, JSON.stringify(result));
    for (const [key, value] of Object.entries(expected)) {
      assert.deepEqual(result.fields[key as keyof typeof result.fields], value, key);
    }
    assert.equal(result.fields.timeLimitS, 300);
    assert.equal(result.fields.expiresMs, 600_000);
    assert.equal(result.fields.jitterMs, 30_000);
  }
});

test('every problem of a declaration is reported, each naming its field', () => {
  const found = problems({
    name: 'bad',
    task: '',
    schedule: crontab('61 * * * *', { tz: 'Europe/Berlin' }),
    priority: 12,
    kwargs: { when: new Date() },
    overlap: 'queue',
    timeLimit: 300,
    kwarg: {},
  });
  const fields = found.map((p) => p.field).sort();
  assert.deepEqual(fields, [
    'kwarg',
    'kwargs.when',
    'overlap',
    'priority',
    'schedule.cron',
    'task',
    'timeLimit',
  ]);
  const byField = Object.fromEntries(found.map((p) => [p.field, p.reason]));
  assert.match(byField.priority!, /0 to 9/);
  assert.match(byField['kwargs.when']!, /Date is not JSON.*toISOString/);
  assert.match(byField.timeLimit!, /numbers are milliseconds/);
  assert.match(byField.kwarg!, /unknown option/);
  assert.match(byField['schedule.cron']!, /61/);
});

test('schedule problems name the builder argument: zone, cron that never fires, Celery fields, interval', () => {
  const cases: [unknown, string, RegExp][] = [
    [crontab('0 3 * * *', { tz: 'Mars/Olympus' }), 'schedule.tz', /Mars\/Olympus/],
    [crontab('0 0 30 2 *', { tz: 'UTC' }), 'schedule.cron', /never/],
    [crontab({ minute: 99 }, { tz: 'UTC' }), 'schedule.cron.minute', /99/],
    [crontab({ minuet: 5 } as never, { tz: 'UTC' }), 'schedule.cron.minuet', /unknown field/],
    [crontab('0 3 * * *', undefined as never), 'schedule.tz', /./],
    [every('500ms'), 'schedule.every', /one second/],
    [every('15 minutes'), 'schedule.every', /duration/],
    [solar('sunset', 200, 0), 'schedule.latitude', /-90 to 90/],
    [solar('moonrise' as never, 1, 1), 'schedule.event', /solar event/],
    [at('2030-01-01 09:00'), 'schedule.runAt', /offset/],
    [{ kind: 'weekly' }, 'schedule.kind', /crontab\(/],
  ];
  for (const [schedule, field, reason] of cases) {
    const found = problems({ name: 'x', task: 't', schedule });
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.equal(found[0]!.field, field, JSON.stringify(found));
    assert.match(found[0]!.reason, reason);
  }
});

test('window checks: endAt after startAt, softTimeLimit under timeLimit', () => {
  const found = problems({
    name: 'x',
    task: 't',
    schedule: every('1m'),
    startAt: '2026-02-01T00:00:00Z',
    endAt: '2026-01-01T00:00:00Z',
    timeLimit: '1m',
    softTimeLimit: '2m',
  });
  assert.deepEqual(found.map((p) => p.field).sort(), ['endAt', 'softTimeLimit']);
});

test('validateRecord names the column of a row that the database checks let through', () => {
  const base = scheduleRow({ kind: 'crontab', cron: '0 3 * * *', timezone: 'UTC', everyMs: null });

  assert.ok(validateRecord(base, NOW, NO_CALENDARS).ok);
  const reason = (patch: object) => {
    const r = validateRecord({ ...base, ...patch }, NOW, NO_CALENDARS);
    return r.ok ? '' : r.reason;
  };
  assert.match(reason({ timezone: 'Europe/Berln' }), /^column timezone: .*Europe\/Berln/);
  assert.match(reason({ cron: '0 0 31 2 *' }), /^column cron: .*never/);
  assert.match(reason({ cron: null, cronFields: { hour: 25 } }), /^column cron_fields\.hour: /);
  assert.match(reason({ kwargs: [1] }), /^column kwargs: .*not a JSON object/);
  assert.match(reason({ args: 'x' }), /^column args: .*not a JSON array/);
});

test('a DST policy: stored in full in its canonical text, none stays null, only on crontabs', () => {
  const declare = (schedule: unknown) => parseDeclaration({ name: 'dst', task: 't', schedule } as never, NOW);
  const partial = declare(crontab('30 2 * * *', { tz: 'Europe/Berlin', dst: { repeated: 'second' } }));
  assert.ok(partial.ok);
  assert.equal(partial.fields.dstPolicy, 'repeated=second,missing=shift');
  // A real-time expression's defaults fill in the other part.
  const realTime = declare(crontab('*/15 * * * *', { tz: 'Europe/Berlin', dst: { missing: 'shift' } }));
  assert.ok(realTime.ok);
  assert.equal(realTime.fields.dstPolicy, 'repeated=both,missing=shift');
  const none = declare(crontab('30 2 * * *', { tz: 'Europe/Berlin' }));
  assert.ok(none.ok);
  assert.equal(none.fields.dstPolicy, null);

  assert.deepEqual(
    problems({
      name: 'dst',
      task: 't',
      schedule: crontab('30 2 * * *', { tz: 'UTC', dst: { repeated: 'last' as never } }),
    }),
    [
      {
        field: 'schedule.dst.repeated',
        reason: 'dst.repeated "last" is invalid: not a DST choice. Allowed: first, second, both.',
      },
    ],
  );
  const onInterval = problems({
    name: 'dst',
    task: 't',
    schedule: { ...every('1h'), dst: { repeated: 'both' } },
  });
  assert.equal(onInterval[0]?.field, 'schedule.dst');
  assert.match(onInterval[0]?.reason ?? '', /crontabs only/);
});

test('a stored DST policy is validated: bad text or a policy on another kind is a problem of dst_policy', () => {
  const cronRow = { kind: 'crontab', everyMs: null, cron: '30 2 * * *', timezone: 'Europe/Berlin' };
  assert.ok(
    validateRecord(scheduleRow({ ...cronRow, dstPolicy: 'repeated=both,missing=skip' }), NOW, NO_CALENDARS)
      .ok,
  );
  const bad = validateRecord(scheduleRow({ ...cronRow, dstPolicy: 'repeated=twice' }), NOW, NO_CALENDARS);
  assert.ok(!bad.ok && bad.problem.column === 'dst_policy', JSON.stringify(bad));
  const garbage = validateRecord(scheduleRow({ ...cronRow, dstPolicy: 'sometimes' }), NOW, NO_CALENDARS);
  assert.ok(!garbage.ok && garbage.problem.column === 'dst_policy', JSON.stringify(garbage));
  const other = validateRecord(scheduleRow({ dstPolicy: 'repeated=first,missing=shift' }), NOW, NO_CALENDARS);
  assert.ok(!other.ok && other.reason.startsWith('column dst_policy: '), JSON.stringify(other));
  // The policy is part of the compiled schedule the runtime gets.
  const second = validateRecord(
    scheduleRow({ ...cronRow, dstPolicy: 'repeated=second,missing=skip' }),
    NOW,
    NO_CALENDARS,
  );
  assert.ok(second.ok);
  assert.equal(second.schedule.next(Date.parse('2026-10-24T12:00:00Z')), Date.parse('2026-10-25T01:30:00Z'));
  assert.equal(second.schedule.next(Date.parse('2026-03-28T12:00:00Z')), Date.parse('2026-03-30T00:30:00Z'));
});

test('an exclusion group: a plain name, stored as given; never with overlap allow', () => {
  const ok = parseDeclaration(
    defineSchedule({ name: 'b', task: 't', schedule: every('1h'), exclusionGroup: 'nightly-db' }),
    NOW,
  );
  assert.ok(ok.ok, JSON.stringify(ok));
  assert.equal(ok.fields.exclusionGroup, 'nightly-db');
  const none = parseDeclaration(defineSchedule({ name: 'b', task: 't', schedule: every('1h') }), NOW);
  assert.ok(none.ok);
  assert.equal(none.fields.exclusionGroup, null);
  const [badName] = problems({ name: 'b', task: 't', schedule: every('1h'), exclusionGroup: 'night db' });
  assert.equal(badName?.field, 'exclusionGroup');
  assert.match(badName?.reason ?? '', /not a group name: use 1 to 100 letters/);
  const [allow] = problems({
    name: 'b',
    task: 't',
    schedule: every('1h'),
    exclusionGroup: 'nightly-db',
    overlap: 'allow',
  });
  assert.equal(allow?.field, 'exclusionGroup');
  assert.match(allow?.reason ?? '', /overlap 'allow' cannot apply; use overlap 'skip' or 'buffer_one'/);
});
