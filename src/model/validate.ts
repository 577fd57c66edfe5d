/**
 * Validation of a stored row, beyond what the database's CHECK constraints can say, and whatever
 * constraints a database has or lacks: every timestamp and number within the limits a declaration
 * keeps (src/model/limits.ts), names printable, the spec compiling (a real time zone, cron fields in
 * range, Celery fields that exist), a crontab that fires at least once more, a jitter shorter than
 * the time between fires, and the JSON columns in the shapes Celery needs. The runtime's own
 * columns (next_fire_at, last_fire_at, total_runs, version) are checked too: a person can edit
 * them. A row that fails is quarantined by the store (invalid_reason), never thrown.
 */
import {
  applyCalendars,
  Calendar,
  type CalendarLookup,
  compileSchedule,
  formatDuration,
  type Schedule,
  ScheduleSpecError,
} from '../time/index.ts';
import { reservedHeaderProblem } from './headers.ts';
import { isJsonObject, jsonProblem } from './json.ts';
import {
  durationProblem,
  exclusionGroupProblem,
  instantProblem,
  jitterProblem,
  MAX_INT4,
  printableProblem,
  secondsProblem,
  wholeNumberProblem,
} from './limits.ts';
import {
  CATCHUP_POLICIES,
  OVERLAP_POLICIES,
  type ScheduleFields,
  type ScheduleRecord,
  type SpecColumns,
  specOf,
} from './schedule.ts';

/** What is wrong with a row: the column (`cron_fields.minute`, `kwargs.when`) and why. */
export interface RowProblem {
  column: string;
  message: string;
}

export type RecordCheck =
  | { ok: true; schedule: Schedule }
  | { ok: false; problem: RowProblem /** `column X: message`, ready for invalid_reason. */; reason: string };

/** The column a time-engine spec field is stored in, for messages about rows. */
const SPEC_FIELD_COLUMN: Record<string, string> = {
  cron: 'cron',
  timezone: 'timezone',
  dst: 'dst_policy',
  every: 'every_ms',
  anchor: 'anchor_at',
  event: 'solar_event',
  latitude: 'latitude',
  longitude: 'longitude',
  runAt: 'run_at',
  kind: 'kind',
  onExcluded: 'on_excluded',
};

function columnOf(specField: string, usesCronFields: boolean): string {
  // `cron.minute`: a field of Celery's object form, or of a cron string (the message names it).
  if (specField.startsWith('cron.')) return usesCronFields ? `cron_fields.${specField.slice(5)}` : 'cron';
  if (specField === 'cron' && usesCronFields) return 'cron_fields';
  if (specField.startsWith('dst.')) return 'dst_policy';
  if (specField.startsWith('calendars')) return 'calendars';
  return SPEC_FIELD_COLUMN[specField] ?? specField;
}

/** What a declaration decides, as stored: everything sync writes, plus the name. */
export type CheckedFields = Omit<
  ScheduleFields,
  'kind' | 'overlap' | 'catchup' | 'args' | 'kwargs' | 'headers' | 'onExcluded'
> &
  Pick<
    ScheduleRecord,
    'name' | 'kind' | 'overlap' | 'catchup' | 'args' | 'kwargs' | 'headers' | 'onExcluded'
  >;

/**
 * Where the calendars a row names are found (src/db/sql/calendars.ts reads them; a declaration
 * also sees the calendars declared beside it). A name it does not know quarantines the row.
 */
export type { CalendarLookup };
/** For callers whose schedules never name calendars (the importers: Celery has none). */
export const NO_CALENDARS: CalendarLookup = () => undefined;

const EMPTY_CALENDARS = new Map<string, Calendar>();
/**
 * Every name is a calendar that excludes nothing: for checking a declaration on its own, before
 * the calendars it names are at hand (sync and the operators' writes check those against the
 * stored and declared calendars, and compute the next fire with them).
 */
export const ANY_CALENDAR: CalendarLookup = (name) => {
  let calendar = EMPTY_CALENDARS.get(name);
  if (!calendar) {
    calendar = Calendar.compile({ name });
    if (EMPTY_CALENDARS.size > 10_000) EMPTY_CALENDARS.clear();
    EMPTY_CALENDARS.set(name, calendar);
  }
  return calendar;
};

/** A whole row: the declared fields and the runtime's bookkeeping. */
export type CheckedRecord = CheckedFields &
  Pick<ScheduleRecord, 'nextFireAt' | 'lastFireAt' | 'pausedAt' | 'totalRuns' | 'version'>;

const problem = (column: string, message: string): RecordCheck => ({
  ok: false,
  problem: { column, message },
  reason: `column ${column}: ${message}`,
});

/**
 * Check a whole row. `now` is when "never fires again" and the time between fires are judged.
 * The reason names the column, the value and what would be accepted, ready for `invalid_reason`.
 */
export function validateRecord(record: CheckedRecord, now: number, calendars: CalendarLookup): RecordCheck {
  return bookkeepingProblem(record) ?? validateFields(record, now, calendars);
}

/** Check what a declaration decides (also the first part of checking a row). */
export function validateFields(record: CheckedFields, now: number, calendars: CalendarLookup): RecordCheck {
  const early = textProblem(record) ?? timingProblem(record) ?? messageProblem(record);
  if (early) return early;
  const spec = validateSpec(record, now, calendars);
  if (!spec.ok) return spec;
  const { schedule } = spec;
  const jitter = jitterProblem(schedule, record.jitterMs, now);
  if (jitter) return problem('jitter_ms', jitter);
  const json = jsonShapeProblem(record);
  if (json) return json;
  if (!(OVERLAP_POLICIES as readonly string[]).includes(record.overlap)) {
    return problem(
      'overlap',
      `${JSON.stringify(record.overlap)} is not one of ${OVERLAP_POLICIES.join(', ')}`,
    );
  }
  if (record.exclusionGroup !== null && record.overlap === 'allow') {
    return problem(
      'exclusion_group',
      `${JSON.stringify(record.exclusionGroup)}: a schedule of an exclusion group never overlaps a run of the group, so overlap 'allow' cannot apply; use overlap 'skip' or 'buffer_one', or no group`,
    );
  }
  if (!(CATCHUP_POLICIES as readonly string[]).includes(record.catchup)) {
    return problem(
      'catchup',
      `${JSON.stringify(record.catchup)} is not one of ${CATCHUP_POLICIES.join(', ')}`,
    );
  }
  return { ok: true, schedule };
}

/**
 * Compiled schedules shared between rows with the same spec: a million rows hold far fewer distinct
 * specs, and a compiled schedule keeps no state between calls (its next() is synchronous, its
 * scratch space reused within one call). A crontab that uses `H` is seeded by the schedule's name, so
 * its name is part of the key. Bounded: emptied when full. Specs that do not compile are not kept.
 */
const COMPILED = new Map<string, Schedule>();
const COMPILED_CAP = 200_000;

function compileShared(record: SpecColumns & Pick<ScheduleRecord, 'name'>): Schedule {
  const spec = specOf(record);
  const seeded =
    record.kind === 'crontab' && /h/i.test(JSON.stringify((spec as { cron?: unknown }).cron) ?? '');
  const key = `${seeded ? `${JSON.stringify(record.name)}\u0000` : ''}${JSON.stringify(spec, exactKey)}`;
  const shared = COMPILED.get(key);
  if (shared) return shared;
  const schedule = compileSchedule(spec, { name: record.name });
  if (COMPILED.size >= COMPILED_CAP) COMPILED.clear();
  COMPILED.set(key, schedule);
  return schedule;
}

/** A key that tells apart what JSON would not: dates by their instant, numbers that are not finite. */
function exactKey(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  if (raw instanceof Date) return `date ${raw.getTime()}`;
  if (typeof raw === 'number' && !Number.isFinite(raw)) return `number ${raw}`;
  if (typeof raw === 'bigint') return `bigint ${raw}`;
  return value;
}

/**
 * Check that the kind columns compile into a schedule, seen through the calendars the row names
 * (looked up in `calendars`), and that a crontab fires at least once more. The kind columns are
 * compiled once and shared; the calendars are applied on top (cheap, and always the current ones).
 */
export function validateSpec(
  record: SpecColumns & Pick<ScheduleRecord, 'name'>,
  now: number,
  calendars: CalendarLookup,
): RecordCheck {
  if (record.kind !== 'crontab' && record.dstPolicy != null) {
    return problem(
      'dst_policy',
      `${JSON.stringify(record.dstPolicy)}: a DST policy applies to crontabs only; set it to null`,
    );
  }
  let schedule: Schedule;
  try {
    schedule = applyCalendars(compileShared(record), record, calendars);
  } catch (error) {
    if (error instanceof ScheduleSpecError) {
      return problem(columnOf(error.field, record.cronFields !== null), error.message);
    }
    return problem('kind', `the schedule does not compile: ${String(error)}`);
  }
  if (schedule.calendars && schedule.next(now) === null && compileShared(record).next(now) !== null) {
    return problem(
      'calendars',
      `${JSON.stringify(record.calendars)} exclude every day the schedule would fire on for the next 30 years; name fewer calendars, or take days out of them`,
    );
  }
  if (record.kind === 'crontab' && schedule.next(now) === null) {
    return problem(
      record.cronFields !== null ? 'cron_fields' : 'cron',
      'the expression never fires (no date matches it, e.g. 30 February); fix the day and month fields',
    );
  }
  return { ok: true, schedule };
}

/** The first of `checks` (column, problem-or-null) that found something. */
function first(checks: Array<[string, string | null]>): RecordCheck | null {
  for (const [column, message] of checks) if (message) return problem(column, message);
  return null;
}

function textProblem(r: CheckedFields): RecordCheck | null {
  const text = (value: string | null, blankOk: boolean) =>
    value === null ? null : !blankOk && value.trim() === '' ? 'is blank' : printableProblem(value);
  return first([
    ['name', text(r.name, false)],
    ['task', text(r.task, false)],
    ['queue', text(r.queue, true)],
    ['routing_key', text(r.routingKey, true)],
  ]);
}

/** Instants and durations that say when it fires (the spec's own are checked by the engine). */
function timingProblem(r: CheckedFields): RecordCheck | null {
  const found = first([
    ['anchor_at', instantProblem(r.anchorAt)],
    ['run_at', instantProblem(r.runAt)],
    ['start_at', instantProblem(r.startAt)],
    ['end_at', instantProblem(r.endAt)],
    ['max_runs', wholeNumberProblem(r.maxRuns, { min: 1, max: MAX_INT4, unit: 'runs' })],
    ['catchup_window_ms', durationProblem(r.catchupWindowMs, 0)],
    ['jitter_ms', durationProblem(r.jitterMs, 0)],
    ['run_lease_ms', durationProblem(r.runLeaseMs, 1_000)],
    ['start_deadline_ms', durationProblem(r.startDeadlineMs, 1_000)],
    ['finish_deadline_ms', durationProblem(r.finishDeadlineMs, 1_000)],
    ['exclusion_group', exclusionGroupProblem(r.exclusionGroup)],
  ]);
  if (found) return found;
  if (r.startDeadlineMs !== null && r.finishDeadlineMs !== null && r.finishDeadlineMs < r.startDeadlineMs) {
    return problem(
      'finish_deadline_ms',
      `${formatDuration(r.finishDeadlineMs)} is shorter than start_deadline_ms (${formatDuration(r.startDeadlineMs)}): a run cannot finish before it starts; make the finish deadline at least the start deadline`,
    );
  }
  if (r.startAt && r.endAt && r.startAt.getTime() >= r.endAt.getTime()) {
    return problem('end_at', `${r.endAt.toISOString()} is not after start_at (${r.startAt.toISOString()})`);
  }
  return null;
}

/** What goes into the message besides the arguments. */
function messageProblem(r: CheckedFields): RecordCheck | null {
  const found = first([
    ['priority', wholeNumberProblem(r.priority, { min: 0, max: 9 })],
    ['expires_ms', durationProblem(r.expiresMs, 1)],
    ['time_limit_s', secondsProblem(r.timeLimitS)],
    ['soft_time_limit_s', secondsProblem(r.softTimeLimitS)],
  ]);
  if (found) return found;
  if (r.timeLimitS !== null && r.softTimeLimitS !== null && r.softTimeLimitS >= r.timeLimitS) {
    return problem(
      'soft_time_limit_s',
      `${r.softTimeLimitS} is not shorter than time_limit_s (${r.timeLimitS}): the hard limit would fire first`,
    );
  }
  return null;
}

/** The columns the runtime maintains, which a person can edit all the same. */
function bookkeepingProblem(r: CheckedRecord): RecordCheck | null {
  return first([
    ['next_fire_at', instantProblem(r.nextFireAt)],
    ['last_fire_at', instantProblem(r.lastFireAt)],
    ['paused_at', instantProblem(r.pausedAt)],
    ['total_runs', wholeNumberProblem(r.totalRuns, { min: 0, max: MAX_INT4, unit: 'runs' })],
    ['version', wholeNumberProblem(r.version, { min: 1, max: Number.MAX_SAFE_INTEGER })],
  ]);
}

function jsonShapeProblem(record: Pick<CheckedFields, 'args' | 'kwargs' | 'headers'>): RecordCheck | null {
  if (!Array.isArray(record.args)) {
    return problem(
      'args',
      `${describe(record.args)} is not a JSON array; Celery needs positional arguments as an array, e.g. [2, 3]`,
    );
  }
  for (const [column, value] of [
    ['kwargs', record.kwargs],
    ['headers', record.headers],
  ] as const) {
    if (!isJsonObject(value)) {
      return problem(
        column,
        `${describe(value)} is not a JSON object; use an object such as {"key": "value"}`,
      );
    }
  }
  const reserved = reservedHeaderProblem(record.headers as object);
  if (reserved) return problem(`headers.${reserved.header}`, reserved.message);
  for (const [column, value] of [
    ['args', record.args],
    ['kwargs', record.kwargs],
    ['headers', record.headers],
  ] as const) {
    const found = jsonProblem(value, [column]);
    if (found) return problem(found.path.join('.'), found.reason);
  }
  return null;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * The first fire strictly after `after` that the schedule's window allows, or null when there is
 * none (clocked done, solar dormant, past end_at, max_runs reached). Fires before start_at are
 * skipped, not caught up.
 */
export function nextFireWithin(
  schedule: Schedule,
  window: Pick<ScheduleRecord, 'startAt' | 'endAt' | 'maxRuns' | 'totalRuns'>,
  after: number,
): number | null {
  if (window.maxRuns !== null && window.totalRuns >= window.maxRuns) return null;
  const from = window.startAt ? Math.max(after, window.startAt.getTime() - 1) : after;
  const next = schedule.next(from);
  if (next === null) return null;
  if (window.endAt && next > window.endAt.getTime()) return null;
  return next;
}

/**
 * Why a schedule that has never fired never will, judged at `now`: a one-off in the past, or a
 * window that ended (or ends before the first fire). Null when it fires, or when only the sun is
 * missing (a dormant solar schedule wakes up again).
 */
export function neverFiresProblem(
  schedule: Schedule,
  fields: Pick<ScheduleRecord, 'kind' | 'runAt' | 'startAt' | 'endAt' | 'maxRuns'>,
  now: number,
): RowProblem | null {
  if (fields.kind === 'clocked' && fields.runAt && fields.runAt.getTime() <= now) {
    return {
      column: 'run_at',
      message: `${fields.runAt.toISOString()} is in the past: a one-off runs once at a future instant, so this one would never run; set a future instant`,
    };
  }
  if (fields.endAt && fields.endAt.getTime() <= now) {
    return {
      column: 'end_at',
      message: `${fields.endAt.toISOString()} is in the past: the schedule would never fire; set a later end, or none`,
    };
  }
  if (fields.kind === 'solar' || !fields.endAt) return null;
  const first = nextFireWithin(schedule, { ...fields, totalRuns: 0 }, now);
  if (first !== null) return null;
  const unbounded = schedule.next(fields.startAt ? Math.max(now, fields.startAt.getTime() - 1) : now);
  return {
    column: 'end_at',
    message: `${fields.endAt.toISOString()} comes before the first fire${unbounded === null ? '' : ` (${new Date(unbounded).toISOString()})`}: the schedule would never fire; set a later end`,
  };
}

/**
 * Why a valid row can never fire and never did: no next fire, no run, and last written after the
 * instant that made it pointless (a one-off inserted with run_at in the past, a window that had
 * already ended). A row written while it could still fire was handled (run, or its slot recorded
 * missed) and is done, not invalid. The store also checks the ledger before quarantining.
 */
export function unfireableProblem(
  schedule: Schedule,
  row: Pick<
    ScheduleRecord,
    | 'kind'
    | 'runAt'
    | 'startAt'
    | 'endAt'
    | 'maxRuns'
    | 'totalRuns'
    | 'lastFireAt'
    | 'nextFireAt'
    | 'updatedAt'
  >,
  now: number,
): RowProblem | null {
  if (row.totalRuns > 0 || row.lastFireAt !== null || row.nextFireAt !== null) return null;
  if (nextFireWithin(schedule, row, now) !== null) return null;
  const never = neverFiresProblem(schedule, row, now);
  if (!never) return null;
  const deadline = (never.column === 'run_at' ? row.runAt : row.endAt)?.getTime();
  return deadline !== undefined && row.updatedAt.getTime() <= deadline ? null : never;
}
