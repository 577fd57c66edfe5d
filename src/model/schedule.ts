/**
 * The schedule as Metronome stores it: the fields a declaration (or `beat add`) decides, the full
 * record with the operator and runtime state around them, and the mapping from a record to the time
 * engine's spec. Column-for-column with `metronome.schedules` (src/db/schema.ts checks the match).
 */
import {
  type CalendarAction,
  DST_MISSING,
  DST_REPEATED,
  formatDstPolicy,
  formatDuration,
  type ScheduleKind,
  type ScheduleSpec,
} from '../time/index.ts';
import type { JsonObject, JsonValue } from './json.ts';

export const OVERLAP_POLICIES = ['skip', 'allow', 'buffer_one'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];
export const CATCHUP_POLICIES = ['latest', 'skip', 'all'] as const;
export type CatchupPolicy = (typeof CATCHUP_POLICIES)[number];
export const MANAGED_BY = ['code', 'db'] as const;
export type ManagedBy = (typeof MANAGED_BY)[number];

/** Every value the dst_policy column can hold (the CHECK constraint's list). */
export const DST_POLICY_TEXTS: readonly string[] = DST_REPEATED.flatMap((repeated) =>
  DST_MISSING.map((missing) => formatDstPolicy({ repeated, missing })),
);

/** Defaults shared by declarations, `beat add` and the table's column defaults. */
export const DEFAULTS = {
  overlap: 'skip',
  catchup: 'latest',
  catchupWindowMs: 3_600_000,
  jitterMs: 0,
  enabled: true,
} as const;

/** What a declaration or `beat add` decides: everything `sync` compares and writes. */
export interface ScheduleFields {
  task: string;
  kind: ScheduleKind;
  cron: string | null;
  cronFields: JsonObject | null;
  timezone: string | null;
  /** A crontab's DST policy in its canonical text (`repeated=first,missing=shift`); null: the default. */
  dstPolicy: string | null;
  everyMs: number | null;
  anchorAt: Date | null;
  solarEvent: string | null;
  latitude: number | null;
  longitude: number | null;
  runAt: Date | null;
  args: JsonValue[];
  kwargs: JsonObject;
  queue: string | null;
  routingKey: string | null;
  priority: number | null;
  headers: JsonObject;
  expiresMs: number | null;
  timeLimitS: number | null;
  softTimeLimitS: number | null;
  enabled: boolean;
  startAt: Date | null;
  endAt: Date | null;
  maxRuns: number | null;
  overlap: OverlapPolicy;
  catchup: CatchupPolicy;
  catchupWindowMs: number;
  jitterMs: number;
  runLeaseMs: number | null;
  /** A run must have started within this long after its slot, or it is late (src/model/deadline.ts). */
  startDeadlineMs: number | null;
  /** A run must have finished within this long after its slot, or it is late. */
  finishDeadlineMs: number | null;
  /** Schedules naming the same group share one run lock: no two runs of the group overlap. */
  exclusionGroup: string | null;
  description: string | null;
  /** Business calendars, by name, whose excluded days it does not fire on (docs/schedules.md). */
  calendars: string[];
  /** What a fire on an excluded day does: skip, or move to the previous/next allowed day. */
  onExcluded: CalendarAction;
}

/** The fields `sync` compares, in display order. */
export const FIELD_NAMES = [
  'task',
  'kind',
  'cron',
  'cronFields',
  'timezone',
  'dstPolicy',
  'everyMs',
  'anchorAt',
  'solarEvent',
  'latitude',
  'longitude',
  'runAt',
  'args',
  'kwargs',
  'queue',
  'routingKey',
  'priority',
  'headers',
  'expiresMs',
  'timeLimitS',
  'softTimeLimitS',
  'enabled',
  'startAt',
  'endAt',
  'maxRuns',
  'overlap',
  'catchup',
  'catchupWindowMs',
  'jitterMs',
  'runLeaseMs',
  'startDeadlineMs',
  'finishDeadlineMs',
  'exclusionGroup',
  'description',
  'calendars',
  'onExcluded',
] as const satisfies readonly (keyof ScheduleFields)[];

/** Fields that change when a schedule fires: a change to one of them invalidates next_fire_at. */
export const TIMING_FIELDS: ReadonlySet<keyof ScheduleFields> = new Set([
  'kind',
  'cron',
  'cronFields',
  'timezone',
  'dstPolicy',
  'everyMs',
  'anchorAt',
  'solarEvent',
  'latitude',
  'longitude',
  'runAt',
  'startAt',
  'endAt',
  'maxRuns',
  'calendars',
  'onExcluded',
]);

/**
 * A row of `metronome.schedules` as read back. Text columns are plain strings here: a row edited
 * with SQL is only trusted after {@link validateRecord} (src/model/validate.ts).
 */
export interface ScheduleRecord
  extends Omit<
    ScheduleFields,
    'kind' | 'overlap' | 'catchup' | 'args' | 'kwargs' | 'headers' | 'onExcluded'
  > {
  id: number;
  name: string;
  kind: string;
  overlap: string;
  catchup: string;
  onExcluded: string;
  /** Bumped (by a trigger) when a calendar it names changes: that change is an edit of this row. */
  calendarRevision: number;
  // jsonb comes back as whatever a person stored, whatever the column's type says.
  args: unknown;
  kwargs: unknown;
  headers: unknown;
  managedBy: ManagedBy;
  source: string | null;
  pausedAt: Date | null;
  pausedReason: string | null;
  /** The leader resumes the schedule at this instant; null: paused until resumed by hand. */
  pausedUntil: Date | null;
  /** How many of the next occurrences are recorded `skipped` (with skipReason) instead of sent. */
  skipCount: number;
  skipReason: string | null;
  invalidReason: string | null;
  nextFireAt: Date | null;
  lastFireAt: Date | null;
  totalRuns: number;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * How a schedule stands, most important first: an invalid row is invalid whatever else it says;
 * a paused one is paused (operator action) even if its declaration says enabled.
 */
export type ScheduleState = 'invalid' | 'paused' | 'disabled' | 'enabled';

/**
 * The state to show: `done` is an enabled schedule that will not fire again (a one-off that ran,
 * max runs reached, past its end, a sun event that does not happen within a year).
 */
export type DisplayState = ScheduleState | 'done';

export function scheduleState(
  record: Pick<ScheduleRecord, 'invalidReason' | 'pausedAt' | 'enabled'>,
  invalidReason = record.invalidReason,
): ScheduleState {
  if (invalidReason) return 'invalid';
  if (record.pausedAt) return 'paused';
  if (!record.enabled) return 'disabled';
  return 'enabled';
}

/** The columns that say what kind of schedule a row is and when it fires (one set per kind). */
export type KindColumn =
  | 'kind'
  | 'cron'
  | 'cronFields'
  | 'timezone'
  | 'everyMs'
  | 'anchorAt'
  | 'solarEvent'
  | 'latitude'
  | 'longitude'
  | 'runAt';

/**
 * The kind columns and the DST policy (optional here: records built before it existed, and by
 * callers that only describe a spec, have none, which is the default).
 */
export type SpecColumns = Pick<ScheduleRecord, KindColumn> & {
  dstPolicy?: string | null;
  /** Absent or empty: no calendars. */
  calendars?: readonly string[] | null;
  onExcluded?: string | null;
};

/** The time engine's spec for a record's kind columns (not validated: compileSchedule does that). */
export function specOf(record: SpecColumns): ScheduleSpec {
  switch (record.kind) {
    case 'crontab':
      return {
        kind: 'crontab',
        cron: (record.cronFields ?? record.cron) as string,
        timezone: record.timezone as string,
        // Absent when the row has none (the default), so a spec read back is the spec declared.
        ...(record.dstPolicy ? { dst: record.dstPolicy } : {}),
      };
    case 'interval':
      return { kind: 'interval', every: record.everyMs as number, anchor: record.anchorAt };
    case 'solar':
      return {
        kind: 'solar',
        event: record.solarEvent as never,
        latitude: record.latitude as number,
        longitude: record.longitude as number,
      };
    case 'clocked':
      return { kind: 'clocked', runAt: record.runAt as Date };
    default:
      // Unknown kinds reach compileSchedule, which names the field and the allowed kinds.
      return { kind: record.kind } as unknown as ScheduleSpec;
  }
}

/**
 * A one-line description of the spec for tables: `30 2 * * * (Europe/Berlin)`, `every 15m`, and the
 * business calendars it names: `0 9 L * * (Europe/Berlin); calendars weekends, holidays (previous)`.
 */
export function describeSpec(record: Parameters<typeof specOf>[0]): string {
  const calendars =
    record.calendars && record.calendars.length > 0
      ? `; calendars ${record.calendars.join(', ')}${record.onExcluded && record.onExcluded !== 'skip' ? ` (${record.onExcluded})` : ''}`
      : '';
  return `${describeKind(record)}${calendars}`;
}

function describeKind(record: Parameters<typeof specOf>[0]): string {
  switch (record.kind) {
    case 'crontab': {
      // jsonb does not keep key order: show Celery's field order.
      const order = ['minute', 'hour', 'dayOfWeek', 'dayOfMonth', 'monthOfYear'];
      const rank = (key: string) => order.indexOf(key) + 1 || 99;
      const cron = record.cronFields
        ? Object.entries(record.cronFields)
            .sort(([a], [b]) => rank(a) - rank(b))
            .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
            .join(' ')
        : (record.cron ?? '');
      return `${cron} (${record.timezone ?? '?'}${record.dstPolicy ? `, dst ${record.dstPolicy}` : ''})`;
    }
    case 'interval':
      return `every ${record.everyMs === null ? '?' : formatDuration(record.everyMs)}${
        record.anchorAt ? ` from ${isoOrInvalid(record.anchorAt)}` : ''
      }`;
    case 'solar':
      return `${record.solarEvent ?? '?'} at ${record.latitude ?? '?'}, ${record.longitude ?? '?'}`;
    case 'clocked':
      return `at ${record.runAt ? isoOrInvalid(record.runAt) : '?'}`;
    default:
      return `unknown kind ${JSON.stringify(record.kind)}`;
  }
}

/** A date for display: ISO 8601, or `invalid` for one that is not a date (an infinite timestamp). */
export function isoOrInvalid(date: Date): string {
  return Number.isFinite(date.getTime()) ? date.toISOString() : 'invalid';
}
