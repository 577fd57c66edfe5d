/**
 * The pure parts of the switch: where an imported schedule's cursor starts (so the first Metronome
 * fire is the one celery beat would have made next, and a re-run never rewinds it), how Celery's
 * intervals become grids, and how `--check` pairs and explains differences.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareFires } from '../../src/import/check/compare.ts';
import { explainDifference } from '../../src/import/check/reasons.ts';
import { carryOver } from '../../src/import/cursor.ts';
import { intervalSpec } from '../../src/import/from-celery.ts';
import { parseDeclaration, type ScheduleFields } from '../../src/model/index.ts';
import { compileSchedule, type ScheduleSpec } from '../../src/time/index.ts';

const at = (iso: string) => Date.parse(iso);
const NOW = at('2027-05-10T12:00:00Z');

function fields(schedule: ScheduleSpec, extra: Record<string, unknown> = {}): ScheduleFields {
  const parsed = parseDeclaration({ name: 'x', task: 't', schedule, ...extra }, NOW);
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return parsed.fields;
}

const base = { name: 'x', totalRuns: 0, now: NOW, existing: null, timingChanged: true };

test("an interval anchored at celery beat's last run fires next where celery beat would have", () => {
  const last = at('2027-05-10T11:59:47.345Z');
  const spec = intervalSpec(20, false, 'UTC', last, NOW);
  assert.ok('spec' in spec);
  const cursor = carryOver({ ...base, fields: fields(spec.spec), lastRunAt: last });
  assert.deepEqual(cursor, { nextFireAt: last + 20_000, lastFireAt: last, totalRuns: 0 });
});

test('a slot that fell due during the switch is the cursor (it runs once at start); a never-run one starts from now', () => {
  const cron = fields({ kind: 'crontab', cron: { minute: 0 }, timezone: 'UTC' });
  const due = carryOver({ ...base, fields: cron, lastRunAt: at('2027-05-10T11:00:00.200Z') });
  assert.equal(due?.nextFireAt, at('2027-05-10T12:00:00Z'));
  const fresh = carryOver({ ...base, fields: cron, lastRunAt: null });
  assert.equal(fresh?.nextFireAt, at('2027-05-10T13:00:00Z'));
  // A one-off never sent is still due at its instant; one celery beat sent is done.
  const clocked = fields({ kind: 'clocked', runAt: '2027-05-10T11:30:00Z' }, { maxRuns: 1 });
  assert.equal(
    carryOver({ ...base, fields: clocked, lastRunAt: null })?.nextFireAt,
    at('2027-05-10T11:30:00Z'),
  );
  assert.equal(
    carryOver({ ...base, fields: clocked, lastRunAt: at('2027-05-10T11:30:00Z'), totalRuns: 1 })?.nextFireAt,
    null,
  );
  // A disabled task gets its cursor when it is enabled.
  assert.equal(
    carryOver({ ...base, fields: { ...cron, enabled: false }, lastRunAt: null })?.nextFireAt,
    null,
  );
});

test('a re-run keeps the cursor unless the timing or the last run changed, and never moves it back', () => {
  const cron = fields({ kind: 'crontab', cron: { minute: 0 }, timezone: 'UTC' });
  const existing = {
    nextFireAt: new Date('2027-05-10T15:00:00Z'),
    lastFireAt: new Date('2027-05-10T14:00:00Z'),
    totalRuns: 3,
  };
  const rerun = { ...base, fields: cron, existing, totalRuns: 0 };
  assert.equal(carryOver({ ...rerun, timingChanged: false, lastRunAt: at('2027-05-10T11:00:00Z') }), null);
  // Metronome ran it later than celery beat did: its own last fire wins.
  const retimed = carryOver({ ...rerun, timingChanged: true, lastRunAt: at('2027-05-10T11:00:00Z') });
  assert.deepEqual(retimed, {
    nextFireAt: at('2027-05-10T15:00:00Z'),
    lastFireAt: at('2027-05-10T14:00:00Z'),
    totalRuns: 3,
  });
  // celery beat ran it since the last import: carried over.
  const newer = carryOver({ ...rerun, timingChanged: false, lastRunAt: at('2027-05-10T16:00:00Z') });
  assert.equal(newer?.nextFireAt, at('2027-05-10T17:00:00Z'));
});

test("Celery's relative intervals: a grid on the whole unit, or local midnight, or refused", () => {
  const twoHours = intervalSpec(7200, true, 'Asia/Kolkata', at('2027-05-10T10:47:00Z'), NOW);
  // Two hours, each run rounded down to the hour: on Kolkata's whole hours (:30 UTC).
  assert.deepEqual('spec' in twoHours && twoHours.spec, {
    kind: 'interval',
    every: 7_200_000,
    anchor: '2027-05-10T10:30:00.000Z',
  });
  // 90 minutes: when celery beat sends it depends on its other entries (test/import/relative.test.ts).
  const uneven = intervalSpec(5400, true, 'Asia/Kolkata', null, NOW);
  assert.match('reason' in uneven ? uneven.reason : '', /not a whole number of hours/);
  const daily = intervalSpec(86_400, true, 'Europe/Berlin', null, NOW);
  assert.deepEqual('spec' in daily && daily.spec, {
    kind: 'crontab',
    cron: { minute: 0, hour: 0 },
    timezone: 'Europe/Berlin',
  });
  const twoDays = intervalSpec(2 * 86_400, true, 'Europe/Berlin', null, NOW);
  assert.match('reason' in twoDays ? twoDays.reason : '', /neither a fixed interval nor a crontab/);
});

test('--check pairs a moved fire, keeps fires one side makes apart, and says why', () => {
  const celery = [at('2027-03-27T01:30:00Z'), at('2027-03-28T01:00:00Z'), at('2027-03-29T00:30:00Z')];
  const ours = [at('2027-03-27T01:30:00Z'), at('2027-03-28T01:30:00Z'), at('2027-03-29T00:30:00Z')];
  const segment = [{ start: at('2027-03-26T00:00:00Z'), end: at('2027-04-01T00:00:00Z') }];
  const diffs = compareFires(celery, ours, 1000, segment);
  assert.deepEqual(diffs, [{ celery: at('2027-03-28T01:00:00Z'), metronome: at('2027-03-28T01:30:00Z') }]);
  const schedule = compileSchedule({
    kind: 'crontab',
    cron: { minute: 30, hour: 2 },
    timezone: 'Europe/Berlin',
  });
  assert.match(
    explainDifference(
      { kind: 'crontab', schedule, zone: 'Europe/Berlin', since: segment[0]!.start },
      diffs[0]!,
    ),
    /^DST gap: 02:30:00 does not exist that day; Metronome runs it 1h later \(RFC 5545\), Celery runs it at 2027-03-28 03:00:00 \+02:00$/,
  );
  // An hourly interval Celery pauses through the repeated hour: Metronome's fires there are its own.
  const hour = 3_600_000;
  const grid = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i * hour);
  const start = at('2027-10-30T20:00:00Z');
  const ourGrid = grid(start, 12);
  const celeryGrid = ourGrid.filter((t) => t !== at('2027-10-31T01:00:00Z'));
  const paused = compareFires(celeryGrid, ourGrid, 1000, [{ start, end: start + 20 * hour }]);
  assert.deepEqual(paused, [{ celery: null, metronome: at('2027-10-31T01:00:00Z') }]);
});
