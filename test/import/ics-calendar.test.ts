/**
 * `.ics` files read as excluded days (src/import/ics-calendar.ts): all-day events with DTEND
 * exclusive, DURATION, no end; yearly RRULEs expanded up to a day, EXDATE honoured, a RECURRENCE-ID
 * override moving one year's date; cancelled events left out; bad files refused in one line.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { IcsError, mergeRanges, parseIcsDays } from '../../src/import/ics-calendar.ts';

const HOLIDAYS = readFileSync(new URL('./fixtures/holidays.ics', import.meta.url), 'utf8');

test('a public-holiday feed: single and yearly all-day events, up to the day given', () => {
  const parsed = parseIcsDays(HOLIDAYS, '2028-12-31');
  assert.equal(parsed.title, 'Feiertage Deutschland');
  assert.deepEqual(
    parsed.days.map((d) => `${d.from}..${d.to} ${d.label ?? ''}`),
    [
      '2026-01-01..2026-01-01 Neujahr',
      '2026-10-03..2026-10-03 Tag der Deutschen Einheit',
      '2026-11-26..2026-11-27 Thanksgiving',
      '2026-12-25..2026-12-26 Weihnachten',
      '2027-01-01..2027-01-01 Neujahr',
      '2027-03-26..2027-03-26 Karfreitag',
      // The override moves 2027's Thanksgiving a day earlier, and shortens it to one day.
      '2027-11-24..2027-11-24 Thanksgiving (moved)',
      '2027-12-25..2027-12-26 Weihnachten',
      '2028-01-01..2028-01-01 Neujahr',
      '2028-11-23..2028-11-24 Thanksgiving',
      // 2028's Christmas is an EXDATE.
    ],
  );
  assert.equal(parsed.events, 6, 'the cancelled event is not counted as giving days');
});

test('a bad file is refused with one line saying why', () => {
  const cases: Array<[string, RegExp]> = [
    ['hello world', /^not an iCalendar file: no BEGIN:VCALENDAR/],
    ['BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n', /^the file holds no events \(VEVENT\)/],
    ['BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VCALENDAR\r\n', /^not a valid iCalendar file: /],
    [
      'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:1\r\nSUMMARY:No start\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n',
      /^event 1 \("No start"\) has no DTSTART/,
    ],
    [
      'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:20260101\r\nRRULE:FREQ=DAILY\r\nSUMMARY:Every day\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n',
      /^event "Every day" recurs more than 20000 times before the end date/,
    ],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseIcsDays(text, '2099-12-31'),
      (error: unknown) =>
        error instanceof IcsError && message.test(error.message) && !error.message.includes('\n'),
      String(message),
    );
  }
});

test('a timed event covers the days it touches; ranges that touch are merged', () => {
  const text = [
    'BEGIN:VCALENDAR',
    'BEGIN:VEVENT',
    'UID:a',
    'DTSTART:20260703T220000Z',
    'DTEND:20260705T000000Z',
    'SUMMARY:Shutdown',
    'END:VEVENT',
    'BEGIN:VEVENT',
    'UID:b',
    'DTSTART;VALUE=DATE:20260705',
    'SUMMARY:Sunday after',
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
  assert.deepEqual(parseIcsDays(text, '2030-01-01').days, [
    { from: '2026-07-03', to: '2026-07-05', label: 'Shutdown / Sunday after' },
  ]);
  assert.deepEqual(
    mergeRanges([
      { from: '2026-01-05', to: '2026-01-06' },
      { from: '2026-01-01', to: '2026-01-02', label: 'a' },
      { from: '2026-01-02', to: '2026-01-03', label: 'b' },
    ]),
    [
      { from: '2026-01-01', to: '2026-01-03', label: 'a / b' },
      { from: '2026-01-05', to: '2026-01-06' },
    ],
  );
});
