/**
 * What an edit to a schedule would do, before it lands: its next fires before and after (UTC,
 * local, DST marks), and what the runtime would fire at once if the edit were applied now. Pure
 * (no I/O, no clock): `beat sync --dry-run` and `beat add --preview` print it, and the HTTP API's
 * mutations return it with `?preview=true`.
 *
 * "At once" follows the runtime's own rules: an edit that changes when a schedule fires (the
 * fields in TIMING_FIELDS, or enabling it) restarts its cursor at the next fire after now, so
 * nothing is caught up, not even the slots an earlier start now covers; any other edit keeps the
 * stored cursor, and if that is already due (the beat was down, or it was paused) the catch-up
 * policy after the edit decides which of the due slots run (src/model/plan.ts, the leader's own plan).
 */

import {
  calendarNotes,
  describeDst,
  describeDstEffect,
  formatLocal,
  nextFireWithin,
  type ScheduleFields,
  type ScheduleRecord,
  TIMING_FIELDS,
  validateFields,
} from '../model/index.ts';
import { planDue } from '../model/plan.ts';
import { type CalendarLookup, type Schedule, ZoneRules } from '../time/index.ts';

/** A fire as a preview shows it. */
export interface PreviewFire {
  /** UTC, ISO 8601. */
  utc: string;
  /** `2026-03-29 03:30:00 +02:00` in the schedule's zone. */
  local: string;
  /** How DST touched it, in words; '' when it did not. */
  dst: string;
  /** How a business calendar touched it (`moved from ...`); '' when it did not. */
  calendar: string;
}

/** The stored side of an edit: the fields and the runtime's state of the row. */
export interface PreviewBefore {
  fields: ScheduleFields;
  nextFireAt: Date | null;
  totalRuns: number;
  pausedAt: Date | null;
  /** When a pause with an end ends (the leader resumes it then); absent or null: no end. */
  pausedUntil?: Date | null;
  /** A pending skip (`beat skip`): the next runs it takes are recorded skipped, not sent. */
  skipCount?: number;
  invalidReason: string | null;
}

/** The stored side of a preview, from a row. */
export function previewBeforeOf(row: ScheduleRecord): PreviewBefore {
  return {
    fields: row as unknown as PreviewBefore['fields'],
    nextFireAt: row.nextFireAt,
    totalRuns: row.totalRuns,
    pausedAt: row.pausedAt,
    pausedUntil: row.pausedUntil,
    skipCount: row.skipCount,
    invalidReason: row.invalidReason,
  };
}

export interface PreviewInput {
  name: string;
  /** The row as stored; null for a schedule the edit creates. */
  before: PreviewBefore | null;
  /** The fields after the edit; null for a schedule the edit deletes. */
  after: ScheduleFields | null;
  now: number;
  /** Fires to list on each side. Default 5. */
  count?: number;
  /** How late a slot may run and still count as on time (the runtime's grace). Default 1 s. */
  graceMs?: number;
  /** The calendars either side names, as stored (src/db/sql/calendars.ts). */
  calendars: CalendarLookup;
  /** The calendars as they will be after the edit; default `calendars`. */
  calendarsAfter?: CalendarLookup;
  /**
   * The edit changes a calendar the schedule names: like a re-timing, it restarts the cursor (the
   * calendar's triggers clear next_fire_at, migration 0014).
   */
  calendarChanged?: boolean;
}

export interface SchedulePreview {
  name: string;
  /** The zone the local times are in (the crontab's after the edit, else before; UTC otherwise). */
  zone: string;
  /** The next fires as stored (null: the schedule does not exist yet, or is invalid). */
  before: PreviewFire[] | null;
  /** The next fires after the edit (null: the edit deletes it). */
  after: PreviewFire[] | null;
  /** Whether the lists differ. */
  firesChange: boolean;
  /** A crontab after the edit: what its DST policy does at the next clock changes that touch it (within a year). */
  dstChanges: string[];
  /** What the runtime would do at once if the edit were applied now. */
  atOnce: { run: PreviewFire[]; missed: number; why: string };
  /** Slots among the next fires after the edit that its calendars skip, in words. */
  calendarSkips: string[];
}

const DEFAULT_COUNT = 5;
const DEFAULT_GRACE_MS = 1_000;
const DST_LOOKAHEAD_MS = 366 * 86_400_000;
const DST_CHANGES_SHOWN = 2;
/** A preview's catch-up: as the leader with a free budget would plan it. */
const PREVIEW_CATCHUP_BUDGET = 100;

export function previewEdit(input: PreviewInput): SchedulePreview {
  const count = input.count ?? DEFAULT_COUNT;
  const now = input.now;
  const beforeSchedule = input.before
    ? compiled(input.name, input.before.fields, now, input.calendars)
    : null;
  const afterSchedule = input.after
    ? compiled(input.name, input.after, now, input.calendarsAfter ?? input.calendars)
    : null;
  const zone = ZoneRules.get((afterSchedule ?? beforeSchedule)?.timezone ?? 'UTC');
  const show = (schedule: Schedule, at: number, moved?: Map<number, string>): PreviewFire => ({
    utc: new Date(at).toISOString(),
    local: formatLocal(at, zone),
    dst: describeDst(schedule.explain(at)),
    calendar: moved?.get(at) ?? '',
  });
  let calendarSkips: string[] = [];
  const list = (
    schedule: Schedule | null,
    fields: ScheduleFields | null,
    totalRuns: number,
    side: 'before' | 'after',
  ) => {
    if (!schedule || !fields) return null;
    const fires = upcoming(schedule, fields, totalRuns, now, count);
    const notes = calendarNotes(schedule, now, fires, zone);
    if (side === 'after') calendarSkips = notes.skipped.map((s) => s.text);
    return fires.map((at) => show(schedule, at, notes.moved));
  };
  const totalRuns = input.before?.totalRuns ?? 0;
  const before = list(beforeSchedule, input.before?.fields ?? null, totalRuns, 'before');
  const after = list(afterSchedule, input.after, totalRuns, 'after');
  return {
    name: input.name,
    zone: zone.name,
    before,
    after,
    firesChange: JSON.stringify(before) !== JSON.stringify(after),
    dstChanges: (afterSchedule?.dstEffects(now, now + DST_LOOKAHEAD_MS) ?? [])
      .slice(0, DST_CHANGES_SHOWN)
      .map((effect) => describeDstEffect(effect, zone)),
    atOnce: atOnce(input, afterSchedule, (s, at) => show(s, at)),
    calendarSkips,
  };
}

/** The schedule the fields compile to, or null when they are invalid. */
function compiled(
  name: string,
  fields: ScheduleFields,
  now: number,
  calendars: CalendarLookup,
): Schedule | null {
  const check = validateFields({ ...fields, name }, now, calendars);
  return check.ok ? check.schedule : null;
}

/** The next `count` fires strictly after `now` within the fields' window. */
function upcoming(
  schedule: Schedule,
  fields: ScheduleFields,
  totalRuns: number,
  now: number,
  count: number,
): number[] {
  if (!fields.enabled) return [];
  const out: number[] = [];
  let after = now;
  for (let runs = totalRuns; out.length < count; runs++) {
    const next = nextFireWithin(schedule, { ...fields, totalRuns: runs }, after);
    if (next === null) break;
    out.push(next);
    after = next;
  }
  return out;
}

function atOnce(
  input: PreviewInput,
  schedule: Schedule | null,
  show: (schedule: Schedule, at: number) => PreviewFire,
): SchedulePreview['atOnce'] {
  const nothing = (why: string) => ({ run: [], missed: 0, why });
  const { before, after, now } = input;
  if (!after) return nothing('deleted: nothing runs (its history stays)');
  if (!schedule) return nothing('invalid after the edit: it would be refused');
  if (!after.enabled) return nothing('disabled: nothing runs');
  if (!before) return nothing('created: the first run is its next fire; nothing before now is caught up');
  if (before.pausedAt)
    return nothing(
      before.pausedUntil
        ? `paused until ${before.pausedUntil.toISOString()}: nothing runs until the leader resumes it then`
        : 'paused: nothing runs until it is resumed',
    );
  const restarts =
    input.calendarChanged === true ||
    before.nextFireAt === null ||
    before.invalidReason !== null ||
    before.fields.enabled !== after.enabled ||
    [...TIMING_FIELDS].some((field) => !sameValue(before.fields[field], after[field]));
  if (restarts) {
    return nothing(
      'when it fires changes: the cursor restarts at the next fire after now, so nothing is caught up (not even slots an earlier start now covers)',
    );
  }
  const cursor = before.nextFireAt?.getTime() ?? now;
  if (cursor > now) return nothing('its next fire is still ahead: nothing is due');
  const plan = planDue({
    name: input.name,
    schedule,
    cursor,
    now,
    catchup: after.catchup,
    catchupWindowMs: after.catchupWindowMs,
    jitterMs: after.jitterMs,
    graceMs: input.graceMs ?? DEFAULT_GRACE_MS,
    startAt: after.startAt?.getTime() ?? null,
    endAt: after.endAt?.getTime() ?? null,
    runsLeft:
      after.maxRuns === null ? Number.POSITIVE_INFINITY : Math.max(0, after.maxRuns - before.totalRuns),
    catchupBudget: PREVIEW_CATCHUP_BUDGET,
    skipLeft: before.skipCount ?? 0,
  });
  const skipped =
    plan.skipped.length > 0 ? `; ${plan.skipped.length} recorded skipped (an operator's skip)` : '';
  return {
    run: plan.run.map((slot) => show(schedule, slot.scheduledFor)),
    missed: plan.missed.length,
    why: `due since ${new Date(cursor).toISOString()}: catch-up '${after.catchup}' within ${after.catchupWindowMs} ms decides${skipped}`,
  };
}

/** Field equality as sync compares: dates by instant, JSON by value. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b;
  }
  return JSON.stringify(a) === JSON.stringify(b);
}
