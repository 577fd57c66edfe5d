/**
 * Where an imported schedule's cursor starts, so the switch neither storms nor fires twice. Pure.
 *
 * The runtime fires a schedule at its stored `next_fire_at` (the cursor: the first slot not yet
 * handled) and, when that is already past at start, follows the schedule's catch-up policy
 * (docs/runtime.md). So the cursor is set to the first Metronome slot after celery beat's last run:
 * the run celery beat would have made next. If that is still ahead, it simply fires then; if it
 * fell due while neither beat ran (the switch), it runs once at start (catch-up `latest`), and
 * older slots beyond the catch-up window are recorded `missed` — never a burst, never a second run
 * of what celery beat already sent. `last_fire_at` is set to celery beat's last run.
 *
 * Re-running the import never moves a cursor backwards: the later of celery beat's last run and
 * the row's own last fire wins, and a row whose timing and last run did not change keeps its cursor.
 */
import {
  NO_CALENDARS,
  nextFireWithin,
  type ScheduleFields,
  type ScheduleRecord,
  validateFields,
} from '../model/index.ts';

export interface CursorInput {
  name: string;
  fields: ScheduleFields;
  /** celery beat's last run of it (epoch ms). */
  lastRunAt: number | null;
  totalRuns: number;
  now: number;
  existing: Pick<ScheduleRecord, 'nextFireAt' | 'lastFireAt' | 'totalRuns'> | null;
  /** Whether the import changes when the existing row fires (its spec, window or enabled). */
  timingChanged: boolean;
}

export interface Cursor {
  nextFireAt: number | null;
  lastFireAt: number | null;
  totalRuns: number;
}

/** The cursor to write, or null to leave the existing row's as it is. */
export function carryOver(input: CursorInput): Cursor | null {
  const { existing, fields } = input;
  const existingLast = existing?.lastFireAt?.getTime() ?? null;
  const last = latest(input.lastRunAt, existingLast);
  const totalRuns = Math.max(input.totalRuns, existing?.totalRuns ?? 0);
  if (
    existing &&
    !input.timingChanged &&
    last === existingLast &&
    totalRuns === existing.totalRuns &&
    (existing.nextFireAt !== null || !fields.enabled)
  ) {
    return null;
  }
  return { nextFireAt: firstFire(input, last, totalRuns), lastFireAt: last, totalRuns };
}

function firstFire(input: CursorInput, last: number | null, totalRuns: number): number | null {
  const { fields, now } = input;
  // A disabled schedule gets its cursor when it is enabled (from then on, not from its last run).
  if (!fields.enabled) return null;
  // Celery has no business calendars: an imported schedule names none.
  const check = validateFields({ ...fields, name: input.name }, now, NO_CALENDARS);
  if (!check.ok) throw new Error(`imported schedule "${input.name}" does not compile: ${check.reason}`);
  // Never run: a one-off is still due at its instant (celery beat would send it at once); any
  // other schedule starts from now, as celery beat does for an entry it has no last run of.
  const after = last ?? (fields.kind === 'clocked' && fields.runAt ? fields.runAt.getTime() - 1 : now);
  return nextFireWithin(check.schedule, { ...fields, totalRuns }, after);
}

function latest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
