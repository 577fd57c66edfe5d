/**
 * A slot a business calendar skips is recorded (src/beat/batch.ts, calendarSkips): one
 * `skipped_calendar` row per slot, naming the calendar, the day and its label, each recorded by
 * exactly one plan (the one whose cursor moves over it), never sent.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planBatch } from '../../src/beat/batch.ts';
import type { LoadedSchedule } from '../../src/db/store.ts';
import type { ScheduleRecord } from '../../src/model/index.ts';
import { validateRecord } from '../../src/model/validate.ts';
import { Calendar } from '../../src/time/index.ts';
import { scheduleRow } from '../support/rows.ts';

const holidays = Calendar.compile({
  name: 'holidays',
  days: [{ from: '2026-12-25', to: '2026-12-26', label: 'Christmas' }],
});

function loaded(cursor: number): LoadedSchedule {
  const record = {
    ...scheduleRow({
      name: 'daily',
      kind: 'crontab',
      cron: '0 9 * * *',
      timezone: 'Europe/Berlin',
      everyMs: null,
      calendars: ['holidays'],
      onExcluded: 'skip',
    }),
    id: 7,
    managedBy: 'db',
    source: null,
    pausedReason: null,
    invalidReason: null,
    calendarRevision: 0,
    createdAt: new Date(0),
    updatedAt: new Date(0),
  } as ScheduleRecord;
  const check = validateRecord(record, cursor - 1, (name) => (name === 'holidays' ? holidays : undefined));
  assert.ok(check.ok);
  return { record, schedule: check.schedule, state: 'enabled', nextFireAt: cursor };
}

const plan = (cursor: number, now: number) =>
  planBatch({
    due: [{ id: 7, loaded: loaded(cursor) }],
    now,
    graceMs: 1_000,
    claimAheadMs: 0,
    catchup: { available: () => 100, spend: () => {} },
  });

test('the slots between a fire and the next allowed one are recorded skipped, once', () => {
  const dec24 = Date.parse('2026-12-24T08:00:00Z'); // 09:00 in Berlin
  const first = plan(dec24, dec24 + 100);
  assert.deepEqual(
    first.occurrences.map((o) => [new Date(o.scheduledFor).toISOString(), o.status, o.error]),
    [
      ['2026-12-24T08:00:00.000Z', 'claimed', null],
      [
        '2026-12-25T08:00:00.000Z',
        'skipped_calendar',
        'skipped: calendar "holidays" excludes 2026-12-25 (Christmas)',
      ],
      [
        '2026-12-26T08:00:00.000Z',
        'skipped_calendar',
        'skipped: calendar "holidays" excludes 2026-12-26 (Christmas)',
      ],
    ],
  );
  assert.equal(first.advances[0]?.nextFireAt, Date.parse('2026-12-27T08:00:00Z'));
  // The next plan starts at the cursor: nothing recorded twice.
  const dec27 = Date.parse('2026-12-27T08:00:00Z');
  const second = plan(dec27, dec27 + 100);
  assert.deepEqual(
    second.occurrences.map((o) => o.status),
    ['claimed'],
  );
});

test('after downtime across the holidays, the skipped slots are still recorded, the missed ones as missed', () => {
  const dec24 = Date.parse('2026-12-24T08:00:00Z');
  const late = plan(dec24, Date.parse('2026-12-28T08:30:00Z'));
  const statuses = late.occurrences.map((o) => [
    new Date(o.scheduledFor).toISOString().slice(0, 10),
    o.status,
  ]);
  assert.deepEqual(statuses.sort(), [
    ['2026-12-24', 'missed'],
    ['2026-12-25', 'skipped_calendar'],
    ['2026-12-26', 'skipped_calendar'],
    ['2026-12-27', 'missed'],
    ['2026-12-28', 'claimed'],
  ]);
});
