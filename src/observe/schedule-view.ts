/**
 * A schedule as people see it, now: its state judged afresh (a read never writes), its next fire,
 * the zone to show its times in, and its next fires with DST marks. The CLI (`beat list`, `beat
 * show`) and the dashboard's API both build on this, so they always say the same thing.
 */
import {
  type CalendarLookup,
  calendarNotes,
  type DisplayState,
  describeDst,
  describeSpec,
  isoOrInvalid,
  nextFireWithin,
  type ScheduleRecord,
  type ScheduleState,
  scheduleState,
  unfireableProblem,
  validateRecord,
} from '../model/index.ts';
import { type Schedule, ZoneRules } from '../time/index.ts';

/** A record as seen now: validity judged afresh (a read never writes), state, next fire. */
export interface RecordView {
  record: ScheduleRecord;
  state: ScheduleState;
  invalidReason: string | null;
  /** The column the invalid reason is about (`cron`, `timezone`, `args`...). */
  invalidColumn: string | null;
  /** What is wrong with that column (the reason without the column). */
  invalidProblem: string | null;
  schedule: Schedule | null;
  /** Stored next fire, or computed now when the row has none yet (edited by SQL). */
  nextFireAt: number | null;
  zone: ZoneRules;
}

/** `calendars`: the calendars the row names (src/db/sql/calendars.ts, calendarsOf). */
export function viewRecord(record: ScheduleRecord, now: number, calendars: CalendarLookup): RecordView {
  const check = validateRecord(record, now, calendars);
  // A row that can never fire is only quarantined after a look at the ledger: trust the stored verdict.
  const never =
    check.ok && record.invalidReason !== null ? unfireableProblem(check.schedule, record, now) : null;
  const invalidReason = check.ok ? (never ? record.invalidReason : null) : check.reason;
  const invalidColumn = check.ok ? (never ? never.column : null) : check.problem.column;
  const invalidProblem = check.ok ? (never ? never.message : null) : check.problem.message;
  const schedule = check.ok && !never ? check.schedule : null;
  let nextFireAt = record.nextFireAt ? record.nextFireAt.getTime() : null;
  if (nextFireAt === null && schedule) nextFireAt = nextFireWithin(schedule, record, now);
  let zone: ZoneRules;
  try {
    zone = ZoneRules.get(schedule?.timezone ?? 'UTC', 'timezone');
  } catch {
    zone = ZoneRules.get('UTC', 'timezone');
  }
  return {
    record,
    state: scheduleState(record, invalidReason),
    invalidReason,
    invalidColumn,
    invalidProblem,
    schedule,
    nextFireAt,
    zone,
  };
}

export function displayState(view: RecordView): DisplayState {
  return view.state === 'enabled' && view.nextFireAt === null ? 'done' : view.state;
}

export interface NextFire {
  at: number;
  /** The DST mark in words, '' when DST did not touch this fire. */
  dst: string;
  /** The business-calendar mark (`moved from ...`), '' when no calendar moved this fire. */
  calendar: string;
  /** An operator skipped it (`beat skip`): recorded `skipped`, not sent. */
  skipped: boolean;
}

/**
 * The next `count` fires after `now` (after the end of a pause with an end: a slot at that instant
 * runs), within the schedule's window, with their DST marks; the first ones a pending skip takes
 * are marked (they are not runs: maxRuns counts past them).
 */
export function nextFires(view: RecordView, now: number, count: number): NextFire[] {
  const fires: NextFire[] = [];
  if (!view.schedule) return fires;
  const until = view.record.pausedUntil?.getTime();
  let after = until !== undefined && until - 1 > now ? until - 1 : now;
  let runs = view.record.totalRuns;
  let skips = view.record.skipCount;
  while (fires.length < count) {
    const at = nextFireWithin(view.schedule, { ...view.record, totalRuns: runs }, after);
    if (at === null) break;
    const skipped = skips > 0;
    fires.push({ at, dst: describeDst(view.schedule.explain(at)), calendar: '', skipped });
    after = at;
    if (skipped) skips--;
    else runs++;
  }
  const { moved } = calendarNotes(
    view.schedule,
    now,
    fires.map((f) => f.at),
    view.zone,
  );
  for (const fire of fires) fire.calendar = moved.get(fire.at) ?? '';
  return fires;
}

/** The slots a business calendar skips up to the last of `fires` (nextFires), in words. */
export function skippedFires(
  view: RecordView,
  now: number,
  fires: readonly NextFire[],
): Array<{ at: number; text: string }> {
  if (!view.schedule) return [];
  return calendarNotes(
    view.schedule,
    now,
    fires.map((f) => f.at),
    view.zone,
  ).skipped;
}

/**
 * The state with what an operator set, in words: `paused until 2026-12-08T09:00:00.000Z (deploy
 * freeze)`, `paused (no reason given)`, `enabled, skipping the next 2 (holiday)`.
 */
export function stateText(view: RecordView, state: string = view.state): string {
  const r = view.record;
  const why = (reason: string | null) => ` (${reason ?? 'no reason given'})`;
  let text = state;
  if (state === 'paused') {
    const until = r.pausedUntil ? ` until ${isoOrInvalid(r.pausedUntil)}` : '';
    text = `paused${until}${why(r.pausedReason)}`;
  }
  if (r.skipCount > 0) text += `, skipping the next ${r.skipCount}${why(r.skipReason)}`;
  return text;
}

/** ISO 8601, null for none, `invalid` for a date that is not one (an infinite timestamp). */
const iso = (d: Date | null) => (d ? isoOrInvalid(d) : null);

/** The JSON shape of a schedule in `--json` output (camelCase, instants as ISO strings). */
export function recordJson(view: RecordView): Record<string, unknown> {
  const r = view.record;
  return {
    id: r.id,
    name: r.name,
    task: r.task,
    kind: r.kind,
    spec: describeSpec(r),
    state: view.state,
    invalidReason: view.invalidReason,
    invalidColumn: view.invalidColumn,
    cron: r.cron,
    cronFields: r.cronFields,
    timezone: r.timezone,
    dstPolicy: r.dstPolicy,
    everyMs: r.everyMs,
    anchorAt: iso(r.anchorAt),
    solarEvent: r.solarEvent,
    latitude: r.latitude,
    longitude: r.longitude,
    runAt: iso(r.runAt),
    args: r.args,
    kwargs: r.kwargs,
    queue: r.queue,
    routingKey: r.routingKey,
    priority: r.priority,
    headers: r.headers,
    expiresMs: r.expiresMs,
    timeLimitS: r.timeLimitS,
    softTimeLimitS: r.softTimeLimitS,
    enabled: r.enabled,
    startAt: iso(r.startAt),
    endAt: iso(r.endAt),
    maxRuns: r.maxRuns,
    totalRuns: r.totalRuns,
    overlap: r.overlap,
    catchup: r.catchup,
    catchupWindowMs: r.catchupWindowMs,
    jitterMs: r.jitterMs,
    runLeaseMs: r.runLeaseMs,
    startDeadlineMs: r.startDeadlineMs,
    finishDeadlineMs: r.finishDeadlineMs,
    exclusionGroup: r.exclusionGroup,
    description: r.description,
    calendars: r.calendars,
    onExcluded: r.onExcluded,
    managedBy: r.managedBy,
    source: r.source,
    pausedAt: iso(r.pausedAt),
    pausedReason: r.pausedReason,
    pausedUntil: iso(r.pausedUntil),
    skipCount: r.skipCount,
    skipReason: r.skipReason,
    nextFireAt: view.nextFireAt === null ? null : isoOrInvalid(new Date(view.nextFireAt)),
    lastFireAt: iso(r.lastFireAt),
    version: r.version,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}
