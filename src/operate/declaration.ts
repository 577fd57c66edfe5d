/**
 * A schedule's definition, both ways: what the caller gives (a declaration, the same shape
 * `defineSchedule` takes) checked exactly as `beat add` and `beat sync` check it, and a stored
 * record turned back into that shape, so what a read returns can be edited and written back.
 */

import type { Db } from '../db/database.ts';
import { calendarLookup } from '../db/sql/calendars.ts';
import {
  type DeclarationProblem,
  declarationField,
  type JsonObject,
  type JsonValue,
  neverFiresProblem,
  parseDeclaration,
  type ScheduleDeclarationInput,
  type ScheduleFields,
  type ScheduleRecord,
  specOf,
  validateSpec,
} from '../model/index.ts';
import { ANY_CALENDAR } from '../model/validate.ts';
import type { CalendarLookup, Schedule } from '../time/index.ts';
import { InvalidScheduleError } from './errors.ts';

export interface CheckedDeclaration {
  name: string;
  fields: ScheduleFields;
  schedule: Schedule;
}

/** The declaration's problems (every one), or its stored fields and compiled schedule. */
export function checkDeclarationInput(
  input: unknown,
  now: number,
  /** Where the calendars it names are found; default: any name, excluding nothing (see parseDeclaration). */
  calendars: CalendarLookup = ANY_CALENDAR,
):
  | { ok: true; value: CheckedDeclaration }
  | { ok: false; name: string | undefined; problems: DeclarationProblem[] } {
  const parsed = parseDeclaration(input, now, calendars);
  if (!parsed.ok) return { ok: false, name: parsed.name, problems: parsed.problems };
  const { name, fields } = parsed;
  // parseDeclaration ran every check; this only fetches the compiled schedule (shared, cached).
  const checked = validateSpec({ ...fields, name }, now, calendars);
  if (!checked.ok) throw new Error(`a parsed declaration failed validation: ${checked.reason}`);
  // As `beat sync` refuses to create one: a schedule that can never fire is a mistake at the call.
  const never = neverFiresProblem(checked.schedule, fields, now);
  if (never) {
    return { ok: false, name, problems: [{ field: declarationField(never.column), reason: never.message }] };
  }
  return { ok: true, value: { name, fields, schedule: checked.schedule } };
}

/**
 * A checked declaration seen through the calendars it names, read in `tx`: its schedule compiled
 * with their days (what its next fire is computed with). Throws {@link InvalidScheduleError}
 * naming `calendars` when one does not exist, or the calendars leave it no fire.
 */
export async function withStoredCalendars(
  tx: Db,
  checked: CheckedDeclaration,
  now: number,
): Promise<CheckedDeclaration> {
  if (checked.fields.calendars.length === 0) return checked;
  const { lookup } = await calendarLookup(tx, checked.fields.calendars);
  const check = validateSpec({ ...checked.fields, name: checked.name }, now, lookup);
  if (!check.ok) {
    throw new InvalidScheduleError(checked.name, [
      { field: declarationField(check.problem.column), reason: check.problem.message },
    ]);
  }
  return { ...checked, schedule: check.schedule };
}

/** {@link checkDeclarationInput}, throwing {@link InvalidScheduleError} with every problem. */
export function checkDeclaration(input: unknown, now: number): CheckedDeclaration {
  const result = checkDeclarationInput(input, now);
  if (!result.ok) throw new InvalidScheduleError(result.name, result.problems);
  return result.value;
}

/** A stored record as a declaration: durations in milliseconds, instants as Dates. */
export function declarationOf(record: ScheduleRecord): ScheduleDeclarationInput {
  return {
    name: record.name,
    task: record.task,
    schedule: specOf(record),
    calendars: record.calendars,
    onExcluded: record.onExcluded as ScheduleDeclarationInput['onExcluded'],
    args: record.args as JsonValue[],
    kwargs: record.kwargs as JsonObject,
    queue: record.queue,
    routingKey: record.routingKey,
    priority: record.priority,
    expires: record.expiresMs,
    timeLimit: record.timeLimitS === null ? null : record.timeLimitS * 1000,
    softTimeLimit: record.softTimeLimitS === null ? null : record.softTimeLimitS * 1000,
    headers: record.headers as JsonObject,
    enabled: record.enabled,
    startAt: record.startAt,
    endAt: record.endAt,
    maxRuns: record.maxRuns,
    overlap: record.overlap as ScheduleDeclarationInput['overlap'],
    catchup: record.catchup as ScheduleDeclarationInput['catchup'],
    catchupWindow: record.catchupWindowMs,
    jitter: record.jitterMs,
    runLease: record.runLeaseMs,
    startDeadline: record.startDeadlineMs,
    finishDeadline: record.finishDeadlineMs,
    exclusionGroup: record.exclusionGroup,
    description: record.description,
  };
}
