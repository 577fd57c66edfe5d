/**
 * The cursor after a change cleared it (src/model/edit-cursor.ts), with business calendars whose
 * edit moves fires (found by review): a fire moved back to an instant already past is owed, not
 * lost; a fire moved forward from a slot that already ran is not run again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cursorAfterChange } from '../../src/model/index.ts';
import { Calendar, compileSchedule } from '../../src/time/index.ts';

const WINDOW = { startAt: null, endAt: null, maxRuns: null, totalRuns: 0 };
const holiday = (day: string) =>
  Calendar.compile({ name: 'h', days: [{ from: day, to: day, label: 'late' }] });
const withCalendar = (cron: string, day: string, onExcluded: 'previous' | 'next') => {
  const calendar = holiday(day);
  return compileSchedule(
    { kind: 'crontab', cron, timezone: 'Europe/Berlin', calendars: ['h'], onExcluded },
    { calendars: (n) => (n === 'h' ? calendar : undefined) },
  );
};

test("previous: a holiday declared after the moved fire's instant makes it owed, not lost", () => {
  // The last day of the month at 09:00; 31 December 2026 declared a holiday on the 30th at 10:00.
  const s = withCalendar('0 9 L * *', '2026-12-31', 'previous');
  const lastFire = Date.parse('2026-11-30T08:00:00Z');
  const now = Date.parse('2026-12-30T09:00:00Z');
  assert.equal(cursorAfterChange(s, WINDOW, lastFire, now), Date.parse('2026-12-30T08:00:00Z'));
  // Already fired at its moved instant: nothing owed, the next month's.
  const fired = Date.parse('2026-12-30T08:00:00Z');
  assert.ok((cursorAfterChange(s, WINDOW, fired, now) ?? 0) > Date.parse('2027-01-01T00:00:00Z'));
  // No move into the past: the next fire after now, as without calendars.
  const early = Date.parse('2026-12-29T09:00:00Z');
  assert.equal(cursorAfterChange(s, WINDOW, lastFire, early), Date.parse('2026-12-30T08:00:00Z'));
});

test('next: a day excluded after its fire ran does not run it again on the next allowed day', () => {
  const s = withCalendar('0 9 * * 5', '2026-12-11', 'next');
  const fired = Date.parse('2026-12-11T08:00:00Z'); // Friday 09:00 Berlin ran, then became a holiday
  const now = fired + 3_600_000;
  assert.equal(cursorAfterChange(s, WINDOW, fired, now), Date.parse('2026-12-18T08:00:00Z'));
  // Excluded before it ran: moved to Saturday, and owed there.
  const thursday = Date.parse('2026-12-10T12:00:00Z');
  assert.equal(
    cursorAfterChange(s, WINDOW, Date.parse('2026-12-04T08:00:00Z'), thursday),
    Date.parse('2026-12-12T08:00:00Z'),
  );
});
