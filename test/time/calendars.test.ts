/**
 * Business calendars in the time engine (src/time/calendar*.ts): checked against a brute-force
 * reference written with Intl alone (every base slot mapped on its own, then the set sorted), for
 * random crontabs, zones, calendars and actions; "the last business day of the month" month by
 * month over years; DST on the day a fire moves to; and the errors bad input raises.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  Calendar,
  type CalendarAction,
  type CalendarSpec,
  compileSchedule,
  ScheduleSpecError,
} from '../../src/time/index.ts';

const ZONES = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'Australia/Lord_Howe',
  'America/Santiago',
  'Asia/Tokyo',
];
const DAY = 86_400_000;

function lookup(...specs: CalendarSpec[]) {
  const compiled = new Map(specs.map((s) => [s.name, Calendar.compile(s)]));
  return (name: string) => compiled.get(name);
}

function take(schedule: { fires(after: number): Generator<number> }, after: number, n: number): number[] {
  const out: number[] = [];
  for (const at of schedule.fires(after)) {
    out.push(at);
    if (out.length === n) break;
  }
  return out;
}

/** The reference's zone math, from Intl alone (not src/time/zone.ts). */
const formats = new Map<string, Intl.DateTimeFormat>();
function wallOf(at: number, zone: string): number {
  let format = formats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(zone, format);
  }
  const p = Object.fromEntries(format.formatToParts(at).map((x) => [x.type, Number(x.value)]));
  return Date.UTC(p.year as number, (p.month as number) - 1, p.day, p.hour, p.minute, p.second);
}
const plainDay = (at: number, zone: string) => new Date(wallOf(at, zone)).toISOString().slice(0, 10);
/** RFC 5545 / Temporal "compatible": the earlier of two instants, a gap read with the offset before it. */
function instantOf(wall: number, zone: string): number {
  const offsets = [wall - DAY, wall + DAY].map((t) => wallOf(t, zone) - t);
  const valid = offsets.map((o) => wall - o).filter((t) => wallOf(t, zone) === wall);
  return valid.length > 0 ? Math.min(...valid) : wall - (offsets[0] as number);
}

/**
 * The reference: each base slot on its own — kept, dropped, or moved to the same wall time on the
 * nearest allowed day — then sorted and deduplicated.
 */
function referenceFires(
  baseFires: number[],
  zone: string,
  excluded: (day: string) => boolean,
  action: CalendarAction,
): number[] {
  const out = new Set<number>();
  for (const slot of baseFires) {
    const wall = wallOf(slot, zone);
    let day = Math.floor(wall / DAY);
    if (!excluded(isoDay(day))) {
      out.add(slot);
      continue;
    }
    if (action === 'skip') continue;
    let n = 0;
    while (excluded(isoDay(day)) && n++ <= 366) day += action === 'next' ? 1 : -1;
    if (excluded(isoDay(day))) continue;
    out.add(instantOf(day * DAY + (wall % DAY), zone));
  }
  return [...out].sort((a, b) => a - b);
}

const isoDay = (days: number) => new Date(days * DAY).toISOString().slice(0, 10);

describe('business calendars', () => {
  test('random crontabs, zones and calendars agree with the brute-force reference', () => {
    const cron = fc.constantFrom(
      '0 9 * * *',
      '30 2 * * *',
      '0 9,17 * * *',
      '0 9 L * *',
      '15 8 1 * *',
      '0 */6 * * *',
      '0 9 * * 1-5',
      '45 1 * * 0',
      '0 12 15 * *',
    );
    const calendar = fc.record({
      weekdays: fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { maxLength: 3 }),
      days: fc.uniqueArray(fc.integer({ min: 0, max: 200 }), { maxLength: 40 }),
      ranges: fc.array(fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 9 })), {
        maxLength: 3,
      }),
    });
    fc.assert(
      fc.property(
        cron,
        fc.constantFrom(...ZONES),
        fc.constantFrom<CalendarAction>('skip', 'previous', 'next'),
        calendar,
        fc.integer({ min: 0, max: 60 }),
        (expr, zone, action, cal, offsetDays) => {
          const origin = Math.floor(Date.UTC(2026, 0, 1) / DAY) + offsetDays * 7;
          const spec: CalendarSpec = {
            name: 'c',
            weekdays: cal.weekdays,
            days: [
              ...cal.days.map((d) => isoDay(origin + d)),
              ...cal.ranges.map(([d, len]) => ({ from: isoDay(origin + d), to: isoDay(origin + d + len) })),
            ],
          };
          const base = compileSchedule({ kind: 'crontab', cron: expr, timezone: zone });
          const schedule = compileSchedule(
            { kind: 'crontab', cron: expr, timezone: zone, calendars: ['c'], onExcluded: action },
            { calendars: lookup(spec) },
          );
          const compiled = Calendar.compile(spec);
          const excluded = (day: string) =>
            compiled.excludes(Math.floor(Date.parse(`${day}T00:00:00Z`) / DAY));
          // Base slots over a wide window; compare effective fires only well inside it, since moves
          // reach in from outside by at most the longest excluded run (here under 25 days).
          const start = (origin - 60) * DAY;
          const end = (origin + 300) * DAY;
          const baseFires: number[] = [];
          for (const at of base.fires(start)) {
            if (at > end) break;
            baseFires.push(at);
          }
          const inside = (at: number) => at > start + 40 * DAY && at < end - 40 * DAY;
          const expected = referenceFires(baseFires, zone, excluded, action).filter(inside);
          const actual = take(schedule, start + 40 * DAY, expected.length + 1).filter(inside);
          assert.deepEqual(
            actual.map((a) => new Date(a).toISOString()),
            expected.map((a) => new Date(a).toISOString()),
            `${expr} in ${zone}, ${action}, ${JSON.stringify(spec)}`,
          );
          for (const at of actual) assert.ok(!excluded(plainDay(at, zone)), 'a fire on an excluded day');
        },
      ),
      { numRuns: 150, seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined },
    );
  });

  test('next() from any instant gives the first effective fire after it, strictly increasing', () => {
    const calendars = lookup(
      { name: 'weekends', weekdays: ['sat', 'sun'] },
      { name: 'h', days: ['2026-03-10'] },
    );
    for (const action of ['skip', 'previous', 'next'] as const) {
      const schedule = compileSchedule(
        {
          kind: 'crontab',
          cron: '0 9,17 * * *',
          timezone: 'Europe/Berlin',
          calendars: ['weekends', 'h'],
          onExcluded: action,
        },
        { calendars },
      );
      const all = take(schedule, Date.UTC(2026, 1, 20), 80);
      for (let i = 1; i < all.length; i++) assert.ok((all[i] as number) > (all[i - 1] as number));
      // Every instant between fires asks for the next one.
      for (let at = Date.UTC(2026, 1, 21); at < (all[all.length - 2] as number); at += 37 * 60_000) {
        const expected = all.find((f) => f > at);
        assert.equal(schedule.next(at), expected, `${action} after ${new Date(at).toISOString()}`);
      }
    }
  });

  test('the last business day of the month: L + weekends and holidays + previous, over five years', () => {
    const holidays = ['2026-12-31', '2027-04-30', '2028-06-30', '2029-08-31', '2030-10-31', '2026-07-31'];
    const calendars = lookup({ name: 'weekends', weekdays: [0, 6] }, { name: 'holidays', days: holidays });
    for (const zone of ['Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'UTC']) {
      const schedule = compileSchedule(
        {
          kind: 'crontab',
          cron: '0 9 L * *',
          timezone: zone,
          calendars: ['weekends', 'holidays'],
          onExcluded: 'previous',
        },
        { calendars },
      );
      const fires = take(schedule, Date.UTC(2026, 0, 1), 60);
      for (const [index, at] of fires.entries()) {
        const [year, month] = [2026 + Math.floor(index / 12), index % 12];
        let day = Math.floor(Date.UTC(year, month + 1, 0) / DAY); // the month's last day
        const weekend = (d: number) => [0, 6].includes(new Date(d * DAY).getUTCDay());
        while (weekend(day) || holidays.includes(isoDay(day))) day--;
        const expected = instantOf(day * DAY + 9 * 3_600_000, zone);
        assert.equal(
          new Date(at).toISOString(),
          new Date(expected).toISOString(),
          `${zone} ${year}-${month + 1}`,
        );
      }
    }
  });

  test('a fire moved onto a spring-forward day keeps its local time, shifted by the gap, and merges', () => {
    // New York springs forward on Sunday 2026-03-08 at 02:00. Saturday is excluded: its 02:30 moves
    // to Sunday 02:30, which does not exist: 03:30 EDT, the same instant Sunday's own slot gives.
    const schedule = compileSchedule(
      {
        kind: 'crontab',
        cron: '30 2 * * *',
        timezone: 'America/New_York',
        calendars: ['sat'],
        onExcluded: 'next',
      },
      { calendars: lookup({ name: 'sat', weekdays: ['sat'] }) },
    );
    assert.deepEqual(
      take(schedule, Date.UTC(2026, 2, 6, 12), 3).map((a) => new Date(a).toISOString()),
      ['2026-03-08T07:30:00.000Z', '2026-03-09T06:30:00.000Z', '2026-03-10T06:30:00.000Z'],
    );
    const marks = schedule.calendarMarks(Date.UTC(2026, 2, 6, 12), Date.UTC(2026, 2, 8, 12));
    assert.deepEqual(marks, [
      {
        slot: Date.UTC(2026, 2, 7, 7, 30),
        kind: 'moved',
        to: Date.UTC(2026, 2, 8, 7, 30),
        calendar: 'sat',
        day: '2026-03-07',
      },
    ]);
  });

  test('a fire moved back onto a day with a later fire comes before it (order is by instant)', () => {
    // Monday 17:00 and Tuesday 09:00 (Tuesday excluded, moved back): Monday 09:00 comes first.
    const moved = compileSchedule(
      {
        kind: 'crontab',
        cron: '0 9,17 * * 1,2',
        timezone: 'UTC',
        calendars: ['tue'],
        onExcluded: 'previous',
      },
      { calendars: lookup({ name: 'tue', weekdays: [2] }) },
    );
    assert.deepEqual(
      take(moved, Date.UTC(2026, 0, 4), 2).map((a) => new Date(a).toISOString()),
      ['2026-01-05T09:00:00.000Z', '2026-01-05T17:00:00.000Z'],
    );
  });

  test('skip marks name the calendar, the day and the label', () => {
    const schedule = compileSchedule(
      { kind: 'interval', every: '1d', calendars: ['h'] },
      {
        calendars: lookup({
          name: 'h',
          days: [{ from: '2026-12-24', to: '2026-12-26', label: 'Christmas' }],
        }),
      },
    );
    const marks = schedule.calendarMarks(Date.UTC(2026, 11, 23), Date.UTC(2026, 11, 27));
    assert.deepEqual(
      marks.map((m) => [m.kind, m.day, m.calendar, m.label]),
      [
        ['skipped', '2026-12-24', 'h', 'Christmas'],
        ['skipped', '2026-12-25', 'h', 'Christmas'],
        ['skipped', '2026-12-26', 'h', 'Christmas'],
      ],
    );
    assert.equal(schedule.next(Date.UTC(2026, 11, 23, 12)), Date.UTC(2026, 11, 27));
  });

  test('calendars that exclude every day: the schedule never fires (no endless scan)', () => {
    const schedule = compileSchedule(
      { kind: 'crontab', cron: '* * * * *', timezone: 'UTC', calendars: ['a', 'b'], onExcluded: 'next' },
      { calendars: lookup({ name: 'a', weekdays: [0, 1, 2, 3] }, { name: 'b', weekdays: [4, 5, 6] }) },
    );
    assert.equal(schedule.next(Date.UTC(2026, 0, 1)), null);
  });

  test('bad input raises ScheduleSpecError naming the field', () => {
    const cases: Array<[() => unknown, string]> = [
      [
        () =>
          compileSchedule(
            { kind: 'interval', every: '1h', calendars: ['nope'] },
            { calendars: () => undefined },
          ),
        'calendars[0]',
      ],
      [() => compileSchedule({ kind: 'interval', every: '1h', calendars: 'x' }), 'calendars'],
      [
        () => compileSchedule({ kind: 'interval', every: '1h', calendars: ['a'], onExcluded: 'later' }),
        'onExcluded',
      ],
      [() => Calendar.compile({ name: 'x', days: ['2026-02-30'] }), 'days[0]'],
      [() => Calendar.compile({ name: 'x', days: [{ from: '2026-02-03', to: '2026-02-01' }] }), 'days[0].to'],
      [() => Calendar.compile({ name: 'x', weekdays: ['someday'] }), 'weekdays[0]'],
      [() => Calendar.compile({ name: ' ' }), 'name'],
    ];
    for (const [run, field] of cases) {
      assert.throws(run, (e: unknown) => e instanceof ScheduleSpecError && e.field === field, field);
    }
  });
});
