/**
 * An iCalendar (`.ics`, RFC 5545) file read as the excluded days of a business calendar. Pure: it
 * takes the file's text. Parsing and recurrence are ical.js's (Mozilla's parser, the one
 * Thunderbird uses): no hand-written RRULE expansion here.
 *
 * Public-holiday feeds publish all-day events: DTSTART;VALUE=DATE with DTEND exclusive (or a
 * DURATION, or neither: one day), one event per holiday or one per holiday with RRULE:FREQ=YEARLY
 * (and EXDATE/RDATE, and RECURRENCE-ID overrides that move one year's date). Each occurrence is the
 * days it covers, labelled with its SUMMARY. A timed event covers the civil days it touches, read
 * as written (its own local date). Recurring events are expanded up to `until`: a calendar holds
 * days, so re-import later (or import with a later --until) to extend it. Cancelled events are left
 * out. Overlapping or touching ranges are merged (labels joined).
 */
import ICAL from 'ical.js';
import { type CalendarDayRange, formatCivilDay, MAX_CALENDAR_DAYS, MAX_RANGE_DAYS } from '../time/index.ts';

/** The file is not an iCalendar file we can read: the message says why, in one line. */
export class IcsError extends Error {
  override readonly name = 'IcsError';
}

export interface IcsDays {
  days: CalendarDayRange[];
  /** How many events were read, and how many occurrences they gave. */
  events: number;
  occurrences: number;
  /** The calendar's own name (X-WR-CALNAME), when it has one. */
  title: string | null;
}

/** Occurrences one recurring event may give at most (a daily rule over decades is a mistake). */
const MAX_OCCURRENCES = 20_000;
const DAY_MS = 86_400_000;

/**
 * The days an `.ics` file excludes, from its events' dates; recurring events up to `until`
 * (`YYYY-MM-DD`, inclusive). Throws {@link IcsError} with a one-line reason for a file that is not
 * iCalendar, holds no events, or an event without a start.
 */
export function parseIcsDays(text: string, until: string): IcsDays {
  const calendar = parseCalendar(text);
  const vevents = calendar.getAllSubcomponents('vevent');
  if (vevents.length === 0) throw new IcsError('the file holds no events (VEVENT): nothing to exclude');
  const untilDay = dayNumber(until);
  const masters = new Map<string, ICAL.Event>();
  const overrides: ICAL.Event[] = [];
  for (const [index, vevent] of vevents.entries()) {
    const event = new ICAL.Event(vevent);
    if (!vevent.getFirstPropertyValue('dtstart')) {
      throw new IcsError(
        `event ${index + 1} (${describe(event)}) has no DTSTART: every event needs a start date`,
      );
    }
    if (event.isRecurrenceException()) overrides.push(event);
    else masters.set(event.uid ?? `#${index}`, event);
  }
  for (const override of overrides) {
    const master = masters.get(override.uid);
    // An override of an event that is not in the file is an event of its own.
    if (master) master.relateException(override);
    else masters.set(`${override.uid}#${override.recurrenceId}`, override);
  }
  const ranges: CalendarDayRange[] = [];
  let occurrences = 0;
  for (const event of masters.values()) {
    for (const range of eventRanges(event, untilDay)) {
      ranges.push(range);
      occurrences++;
    }
  }
  const days = mergeRanges(ranges);
  const total = days.reduce((n, d) => n + dayNumber(d.to) - dayNumber(d.from) + 1, 0);
  if (total > MAX_CALENDAR_DAYS) {
    throw new IcsError(
      `the events cover ${total} days up to ${until}, more than ${MAX_CALENDAR_DAYS}: import with an earlier --until`,
    );
  }
  const title = calendar.getFirstPropertyValue('x-wr-calname');
  return { days, events: masters.size, occurrences, title: typeof title === 'string' ? title : null };
}

function parseCalendar(text: string): ICAL.Component {
  if (!/^BEGIN:VCALENDAR/im.test(text)) {
    throw new IcsError('not an iCalendar file: no BEGIN:VCALENDAR (is it an .ics file?)');
  }
  let parsed: unknown;
  try {
    parsed = ICAL.parse(text);
  } catch (error) {
    throw new IcsError(`not a valid iCalendar file: ${oneLine(error)}`);
  }
  // A file of several VCALENDARs parses to a list: their events are read together.
  const list = (Array.isArray(parsed) && typeof parsed[0] === 'string' ? [parsed] : parsed) as unknown[];
  const root = new ICAL.Component(['vcalendar', [], []]);
  for (const item of list) {
    const component = new ICAL.Component(item as never);
    if (component.name !== 'vcalendar')
      throw new IcsError(
        `not an iCalendar file: it starts with ${component.name.toUpperCase()}, not VCALENDAR`,
      );
    // A copy: adding a component to another takes it out of this list.
    for (const sub of [...component.getAllSubcomponents()]) root.addSubcomponent(sub);
    if (!root.getFirstPropertyValue('x-wr-calname')) {
      const title = component.getFirstPropertyValue('x-wr-calname');
      if (typeof title === 'string') root.addPropertyWithValue('x-wr-calname', title);
    }
  }
  return root;
}

/** Each occurrence of an event up to `untilDay`, as the civil days it covers. */
function* eventRanges(event: ICAL.Event, untilDay: number): Generator<CalendarDayRange> {
  if (isCancelled(event.component)) return;
  const label = event.summary ? oneLine(event.summary).slice(0, 200) : undefined;
  if (!event.isRecurring()) {
    yield rangeOf(event.startDate, event.endDate, label, event);
    return;
  }
  const iterator = event.iterator();
  for (let n = 0; ; n++) {
    const next = iterator.next();
    if (!next || dayOf(next) > untilDay) return;
    if (n >= MAX_OCCURRENCES) {
      throw new IcsError(
        `event "${label ?? event.uid}" recurs more than ${MAX_OCCURRENCES} times before the end date: import with an earlier --until`,
      );
    }
    const details = event.getOccurrenceDetails(next);
    if (isCancelled(details.item.component)) continue;
    const itemLabel = details.item.summary ? oneLine(details.item.summary).slice(0, 200) : label;
    yield rangeOf(details.startDate, details.endDate, itemLabel, event);
  }
}

function rangeOf(
  start: ICAL.Time,
  end: ICAL.Time | null,
  label: string | undefined,
  event: ICAL.Event,
): CalendarDayRange {
  const first = dayOf(start);
  // DTEND is exclusive: an all-day event's last day is the day before; a timed event that ends at
  // midnight ends the day before too. No end (or an end not after the start): the start's day.
  let last = first;
  if (end && end.compare(start) > 0) {
    const endDay = dayOf(end);
    last = end.isDate || (end.hour === 0 && end.minute === 0 && end.second === 0) ? endDay - 1 : endDay;
    if (last < first) last = first;
  }
  if (last - first >= MAX_RANGE_DAYS) {
    throw new IcsError(
      `event "${label ?? event.uid}" lasts ${last - first + 1} days, more than ${MAX_RANGE_DAYS}: split it`,
    );
  }
  return { from: formatCivilDay(first), to: formatCivilDay(last), ...(label ? { label } : {}) };
}

function isCancelled(component: ICAL.Component): boolean {
  return String(component.getFirstPropertyValue('status') ?? '').toUpperCase() === 'CANCELLED';
}

/** The civil day of a time as written (its own date, whatever its zone). */
function dayOf(time: ICAL.Time): number {
  return Math.floor(Date.UTC(time.year, time.month - 1, time.day) / DAY_MS);
}

function dayNumber(day: string): number {
  return Math.floor(Date.parse(`${day}T00:00:00Z`) / DAY_MS);
}

/** Sorted, with overlapping or touching ranges merged into one (their labels joined). */
export function mergeRanges(ranges: readonly CalendarDayRange[]): CalendarDayRange[] {
  const sorted = [...ranges].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
  const out: Array<{ from: number; to: number; labels: string[] }> = [];
  for (const r of sorted) {
    const from = dayNumber(r.from);
    const to = dayNumber(r.to);
    const last = out[out.length - 1];
    if (last && from <= last.to + 1) {
      last.to = Math.max(last.to, to);
      if (r.label && !last.labels.includes(r.label)) last.labels.push(r.label);
    } else out.push({ from, to, labels: r.label ? [r.label] : [] });
  }
  return out.map((r) => ({
    from: formatCivilDay(r.from),
    to: formatCivilDay(r.to),
    ...(r.labels.length > 0 ? { label: r.labels.join(' / ').slice(0, 200) } : {}),
  }));
}

function describe(event: ICAL.Event): string {
  return event.summary ? JSON.stringify(oneLine(event.summary)) : `UID ${event.uid ?? '?'}`;
}

function oneLine(value: unknown): string {
  const text = value instanceof Error ? value.message : String(value);
  return text.replace(/\s+/g, ' ').trim();
}
