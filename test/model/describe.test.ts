/** Specs in words, as the dashboard shows them (pure). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ScheduleRecord, specInWords } from '../../src/model/index.ts';

const none = {
  cron: null,
  cronFields: null,
  timezone: null,
  everyMs: null,
  anchorAt: null,
  solarEvent: null,
  latitude: null,
  longitude: null,
  runAt: null,
} satisfies Partial<ScheduleRecord>;

const cron = (expression: string, timezone = 'Europe/Berlin') =>
  specInWords({ ...none, kind: 'crontab', cron: expression, timezone });

test('crontab strings: common shapes in words, the zone where it matters', () => {
  assert.equal(cron('30 2 * * *'), '02:30 Europe/Berlin');
  assert.equal(cron('0 9 * * 1-5'), 'Mon–Fri 09:00 Europe/Berlin');
  assert.equal(cron('0 9,17 * * mon-fri'), 'Mon–Fri 09:00 and 17:00 Europe/Berlin');
  assert.equal(cron('*/15 * * * *'), 'every 15 min Europe/Berlin');
  assert.equal(cron('15 * * * *'), 'hourly at :15 Europe/Berlin');
  assert.equal(cron('0 0 1 * *'), 'day 1 of the month 00:00 Europe/Berlin');
  assert.equal(cron('0 0 L * *'), 'last day of the month 00:00 Europe/Berlin');
  assert.equal(cron('0 12 1 1 *'), 'day 1 in Jan 12:00 Europe/Berlin');
  assert.equal(cron('@daily', 'UTC'), '00:00 UTC');
  assert.equal(cron('5 30 2 * * *'), '02:30:05 Europe/Berlin');
  // Every second or minute is the same in every zone.
  assert.equal(cron('* * * * *'), 'every minute');
  assert.equal(cron('*/10 * * * * *'), 'every 10 s');
});

test('crontab strings beyond simple words are shown as written, with the zone', () => {
  // Standard cron: day-of-month OR day-of-week; no short phrase says that without misleading.
  assert.equal(cron('0 0 13 * 5'), '0 0 13 * 5 Europe/Berlin');
  assert.equal(cron('H 2 * * *'), 'H 2 * * * Europe/Berlin');
  assert.equal(cron('0 0-6/2 * * *'), '0 0-6/2 * * * Europe/Berlin');
});

test("Celery's object form: all fields must match", () => {
  assert.equal(
    specInWords({
      ...none,
      kind: 'crontab',
      cronFields: { minute: 0, hour: 8, dayOfWeek: 1, dayOfMonth: '1-7' },
      timezone: 'America/New_York',
    }),
    'Mon on days 1–7 of the month 08:00 America/New_York',
  );
});

test('interval, solar and clocked', () => {
  assert.equal(specInWords({ ...none, kind: 'interval', everyMs: 30_000 }), 'every 30 s');
  assert.equal(specInWords({ ...none, kind: 'interval', everyMs: 5_400_000 }), 'every 1 h 30 min');
  assert.equal(
    specInWords({ ...none, kind: 'interval', everyMs: 60_000, anchorAt: new Date('2026-01-01T00:00:30Z') }),
    'every 1 min from 2026-01-01 00:00:30 UTC',
  );
  assert.equal(
    specInWords({ ...none, kind: 'solar', solarEvent: 'sunset', latitude: 52.52, longitude: 13.405 }),
    'sunset at 52.52, 13.40',
  );
  assert.equal(
    specInWords({ ...none, kind: 'solar', solarEvent: 'dawn_civil', latitude: -33.9, longitude: 151.2 }),
    'civil dawn at -33.90, 151.20',
  );
  assert.equal(
    specInWords({ ...none, kind: 'clocked', runAt: new Date('2030-01-01T09:00:00Z') }),
    'once at 2030-01-01 09:00 UTC',
  );
});
