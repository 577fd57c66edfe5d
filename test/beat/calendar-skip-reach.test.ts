/**
 * A slot a calendar skips is recorded with its reason also when it lies a season before the next
 * handled slot (src/beat/batch.ts calendarSkips): a quarterly schedule whose New Year slot is a
 * holiday (found by review: the look back was 40 days, so the slot got no row at all).
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
  days: [{ from: '2027-01-01', to: '2027-01-01', label: 'New Year' }],
});

function loaded(cursor: number, lastFireAt: number): LoadedSchedule {
  const record = {
    ...scheduleRow({
      name: 'quarterly',
      kind: 'crontab',
      cron: '0 9 1 1,4,7,10 *',
      timezone: 'Europe/Berlin',
      everyMs: null,
      calendars: ['holidays'],
      onExcluded: 'skip',
    }),
    id: 7,
    lastFireAt: new Date(lastFireAt),
    managedBy: 'db',
    source: null,
    pausedReason: null,
    invalidReason: null,
    calendarRevision: 0,
    createdAt: new Date(0),
    updatedAt: new Date(0),
  } as ScheduleRecord;
  const check = validateRecord(record, cursor - 1, (n) => (n === 'holidays' ? holidays : undefined));
  assert.ok(check.ok);
  return { record, schedule: check.schedule, state: 'enabled', nextFireAt: cursor };
}

test('a quarterly slot skipped by a calendar is recorded', () => {
  const oct1 = Date.parse('2026-10-01T07:00:00Z');
  const apr1 = Date.parse('2027-04-01T07:00:00Z');
  const l = loaded(apr1, oct1);
  assert.equal(l.schedule.next(oct1), apr1, 'Jan 1 is skipped by the calendar');
  const plan = planBatch({
    due: [{ id: 7, loaded: l }],
    now: apr1 + 100,
    graceMs: 1_000,
    claimAheadMs: 0,
    catchup: { available: () => 100, spend: () => {} },
  });
  const rows = plan.occurrences.map((o) => [new Date(o.scheduledFor).toISOString(), o.status]);
  assert.ok(
    rows.some(([at, st]) => at === '2027-01-01T08:00:00.000Z' && st === 'skipped'),
    `Jan 1 slot has no row: ${JSON.stringify(rows)}`,
  );
});
