/**
 * Validation of a stored row, beyond what the database's CHECK constraints can say: the spec must
 * compile (a real time zone, cron fields in range, Celery fields that exist), a crontab must fire at
 * least once more, and the JSON columns must have the shapes Celery needs even if a constraint was
 * dropped or bypassed. A row that fails is quarantined by the store (invalid_reason), never thrown.
 */
import { compileSchedule, type Schedule, ScheduleSpecError } from '../time/index.ts';
import { isJsonObject, jsonProblem } from './json.ts';
import {
  CATCHUP_POLICIES,
  type KindColumn,
  OVERLAP_POLICIES,
  type ScheduleRecord,
  specOf,
} from './schedule.ts';

/**
 * A failed check says which column is wrong (`cron`, `cron_fields.hour`, `args.0`) and what is
 * wrong with it, and `reason` puts the two together for `invalid_reason`: callers that show the
 * column on its own (the dashboard) use `column`, never a parse of `reason`.
 */
export type RecordCheck =
  | { ok: true; schedule: Schedule }
  | { ok: false; column: string; problem: string; reason: string };

function fail(column: string, problem: string): RecordCheck {
  return { ok: false, column, problem, reason: `column ${column}: ${problem}` };
}

/** The column a time-engine spec field is stored in, for messages about rows. */
const SPEC_FIELD_COLUMN: Record<string, string> = {
  cron: 'cron',
  timezone: 'timezone',
  every: 'every_ms',
  anchor: 'anchor_at',
  event: 'solar_event',
  latitude: 'latitude',
  longitude: 'longitude',
  runAt: 'run_at',
  kind: 'kind',
};

function columnOf(specField: string, usesCronFields: boolean): string {
  // `cron.minute`: a field of Celery's object form, or of a cron string (the message names it).
  if (specField.startsWith('cron.')) return usesCronFields ? `cron_fields.${specField.slice(5)}` : 'cron';
  if (specField === 'cron' && usesCronFields) return 'cron_fields';
  return SPEC_FIELD_COLUMN[specField] ?? specField;
}

type Checked = Pick<
  ScheduleRecord,
  KindColumn | 'name' | 'args' | 'kwargs' | 'headers' | 'overlap' | 'catchup' | 'priority'
>;

/**
 * Check one row. `now` is when "never fires again" is judged for crontabs. The reason names the
 * column, the value and what would be accepted, ready for `invalid_reason`.
 */
export function validateRecord(record: Checked, now: number): RecordCheck {
  let schedule: Schedule;
  try {
    schedule = compileSchedule(specOf(record), { name: record.name });
  } catch (error) {
    if (error instanceof ScheduleSpecError) {
      return fail(columnOf(error.field, record.cronFields !== null), error.message);
    }
    return {
      ok: false,
      column: 'kind',
      problem: String(error),
      reason: `the schedule does not compile: ${String(error)}`,
    };
  }
  if (record.kind === 'crontab' && schedule.next(now) === null) {
    return fail(
      record.cronFields !== null ? 'cron_fields' : 'cron',
      'the expression never fires (no date matches it, e.g. 30 February); fix the day and month fields',
    );
  }
  const json = jsonShapeProblem(record);
  if (json) return fail(json.column, json.problem);
  if (!(OVERLAP_POLICIES as readonly string[]).includes(record.overlap)) {
    return fail('overlap', `${JSON.stringify(record.overlap)} is not one of ${OVERLAP_POLICIES.join(', ')}`);
  }
  if (!(CATCHUP_POLICIES as readonly string[]).includes(record.catchup)) {
    return fail('catchup', `${JSON.stringify(record.catchup)} is not one of ${CATCHUP_POLICIES.join(', ')}`);
  }
  if (
    record.priority !== null &&
    !(Number.isInteger(record.priority) && record.priority >= 0 && record.priority <= 9)
  ) {
    return fail('priority', `${record.priority} is not a whole number from 0 to 9`);
  }
  return { ok: true, schedule };
}

function jsonShapeProblem(record: Checked): { column: string; problem: string } | null {
  if (!Array.isArray(record.args)) {
    return {
      column: 'args',
      problem: `${describe(record.args)} is not a JSON array; Celery needs positional arguments as an array, e.g. [2, 3]`,
    };
  }
  for (const [column, value] of [
    ['kwargs', record.kwargs],
    ['headers', record.headers],
  ] as const) {
    if (!isJsonObject(value)) {
      return {
        column,
        problem: `${describe(value)} is not a JSON object; use an object such as {"key": "value"}`,
      };
    }
  }
  for (const [column, value] of [
    ['args', record.args],
    ['kwargs', record.kwargs],
    ['headers', record.headers],
  ] as const) {
    const problem = jsonProblem(value, [column]);
    if (problem) return { column: problem.path.join('.'), problem: problem.reason };
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
