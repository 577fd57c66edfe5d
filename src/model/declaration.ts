/**
 * Declarations: what `defineSchedule({...})` accepts, and its validation (zod) into the stored
 * fields. Validation collects every problem of a declaration, each naming the field and saying what
 * to write instead, so `beat sync` can report a whole directory's mistakes at once.
 */
import { z } from 'zod';
import {
  CALENDAR_ACTIONS,
  type CalendarAction,
  type CalendarLookup,
  type CeleryCrontab,
  compileSchedule,
  formatDstPolicy,
  type InstantInput,
  parseDuration,
  parseInstant,
  type Schedule,
  type ScheduleSpec,
  ScheduleSpecError,
} from '../time/index.ts';
import { type JsonObject, type JsonValue, jsonProblem } from './json.ts';
import {
  durationProblem,
  exclusionGroupProblem,
  instantProblem,
  MAX_INT4,
  printableProblem,
  secondsProblem,
  storableTextProblem,
} from './limits.ts';
import {
  CATCHUP_POLICIES,
  DEFAULTS,
  type KindColumn,
  OVERLAP_POLICIES,
  type ScheduleFields,
} from './schedule.ts';
import { ANY_CALENDAR, validateFields, validateSpec } from './validate.ts';

/** A duration: milliseconds, or a string such as `'30s'`, `'15m'`, `'1h30m'`, `'2d'`. */
export type Duration = number | string;

/** Everything a schedule declaration can say. Only `name`, `task` and `schedule` are required. */
export interface ScheduleDeclarationInput {
  /** Unique name: the key `sync` matches rows by, shown everywhere, seeds `H` in cron fields. */
  name: string;
  /** The task to enqueue, e.g. `'reports.nightly'` (the Celery task name or BullMQ job name). */
  task: string;
  /** When: `crontab(...)`, `every(...)`, `solar(...)` or `clocked(...)`. */
  schedule: ScheduleSpec;
  /** Positional arguments (JSON). Default `[]`. */
  args?: JsonValue[];
  /** Keyword arguments (JSON object). Default `{}`. */
  kwargs?: JsonObject;
  /** Target queue. Default null: the routing rules decide (Celery `task_routes` style). */
  queue?: string | null;
  /** AMQP routing key. Default null (the queue's). */
  routingKey?: string | null;
  /** Message priority 0–9. Default null (the broker's default). */
  priority?: number | null;
  /** A run not started within this long after its fire is dropped by the worker. Default none. */
  expires?: Duration | null;
  /** Celery hard time limit (whole seconds as a duration, e.g. `'5m'`). Default: the worker's. */
  timeLimit?: Duration | null;
  /** Celery soft time limit. Default: the worker's. */
  softTimeLimit?: Duration | null;
  /** Extra message headers (JSON object). Default `{}`. */
  headers?: JsonObject;
  /** False keeps the row but never fires it. Default true. Pausing is an operator action, apart. */
  enabled?: boolean;
  /** No fire before this instant. Default none. */
  startAt?: InstantInput | null;
  /** No fire after this instant. Default none. */
  endAt?: InstantInput | null;
  /** Stop after this many runs. Default unlimited. */
  maxRuns?: number | null;
  /** A fire that finds the previous run still going: `'skip'` (default), `'allow'`, `'buffer_one'`. */
  overlap?: (typeof OVERLAP_POLICIES)[number];
  /** Fires missed while no leader ran: `'latest'` (default, one run), `'skip'`, `'all'`. */
  catchup?: (typeof CATCHUP_POLICIES)[number];
  /** How far back catch-up looks. Default `'1h'`. */
  catchupWindow?: Duration;
  /** Spread fires by up to this much (deterministic per occurrence). Default 0. */
  jitter?: Duration;
  /** How long the run lock is held at most when completion is never observed. Default: the runtime's. */
  runLease?: Duration | null;
  /**
   * Each run must have started within this long after its slot (e.g. `'5m'`); a run that has not is
   * a breach, alerted once (docs/alerts.md). Default none.
   */
  startDeadline?: Duration | null;
  /** Each run must have finished within this long after its slot (e.g. `'1h'`). Default none. */
  finishDeadline?: Duration | null;
  /**
   * Schedules naming the same group never run at the same time: they share one run lock, and a run
   * that finds it held follows its own `overlap` policy. Default none (its own lock).
   */
  exclusionGroup?: string | null;
  /** Free text for people. */
  description?: string | null;
  /**
   * Business calendars whose excluded days it does not fire on: names, or what `defineCalendar`
   * returned. Default none. docs/schedules.md, "Business calendars".
   */
  calendars?: ReadonlyArray<string | { readonly name: string }>;
  /**
   * What a fire on an excluded day does: `'skip'` (default; recorded as skipped, with the calendar
   * and the day), or move it to the same local time on the `'previous'` or `'next'` allowed day.
   */
  onExcluded?: CalendarAction;
}

export interface DeclarationProblem {
  /** The declaration field at fault, e.g. `priority`, `schedule.cron`, `kwargs.when`. */
  field: string;
  reason: string;
}

export type DeclarationResult =
  | { ok: true; name: string; fields: ScheduleFields }
  | { ok: false; name: string | undefined; problems: DeclarationProblem[] };

const NAME_ALLOWED = 'a non-empty string of at most 200 characters without leading or trailing spaces';

/** A zod check that a string has no control characters (names, tasks, queues: see limits.ts). */
function printable(text: string, ctx: z.RefinementCtx): void {
  const problem = printableProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}

const name = z
  .string({ error: `must be ${NAME_ALLOWED}` })
  .min(1, { error: `must be ${NAME_ALLOWED}` })
  .max(200, { error: `must be ${NAME_ALLOWED}` })
  .refine((s) => s.trim() === s, { error: `must be ${NAME_ALLOWED}` })
  .superRefine(printable);

const optionalText = (what: string) =>
  z
    .string({ error: `must be ${what} or null` })
    .min(1, { error: `must be ${what} (not empty) or null` })
    .superRefine(printable)
    .nullish()
    .transform((v) => v ?? null);

function json<T>(shape: 'array' | 'object', example: string) {
  return z
    .unknown()
    .optional()
    .transform((value, ctx): T => {
      if (value === undefined) return (shape === 'array' ? [] : {}) as T;
      const okShape =
        shape === 'array'
          ? Array.isArray(value)
          : typeof value === 'object' && value !== null && !Array.isArray(value);
      if (!okShape) {
        ctx.addIssue({ code: 'custom', message: `must be a JSON ${shape}, e.g. ${example}` });
        return z.NEVER;
      }
      const problem = jsonProblem(value);
      if (problem) {
        ctx.addIssue({ code: 'custom', message: problem.reason, path: problem.path });
        return z.NEVER;
      }
      return value as T;
    });
}

/** A duration in ms, at least `minMs`; null/undefined → `fallback`. */
function duration(fallback: number | null, minMs: number, hint: string) {
  return z
    .unknown()
    .optional()
    .transform((value, ctx): number | null => {
      if (value === undefined || value === null) return fallback;
      try {
        const ms = parseDuration(value, 'duration');
        if (ms < minMs) {
          ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is too short: ${hint}` });
          return z.NEVER;
        }
        const tooLong = durationProblem(ms, minMs);
        if (tooLong) {
          ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)}: ${tooLong}` });
          return z.NEVER;
        }
        return ms;
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: engineReason(error) });
        return z.NEVER;
      }
    });
}

/** A duration stored in whole seconds (Celery's time limits). */
function seconds() {
  return z
    .unknown()
    .optional()
    .transform((value, ctx): number | null => {
      if (value === undefined || value === null) return null;
      try {
        const ms = parseDuration(value, 'duration');
        if (ms < 1000 || ms % 1000 !== 0) {
          ctx.addIssue({
            code: 'custom',
            message: `${JSON.stringify(value)} is not a whole number of seconds (numbers are milliseconds): write e.g. '300s' or '5m'`,
          });
          return z.NEVER;
        }
        const tooLong = secondsProblem(ms / 1000);
        if (tooLong) {
          ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)}: ${tooLong}` });
          return z.NEVER;
        }
        return ms / 1000;
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: engineReason(error) });
        return z.NEVER;
      }
    });
}

function instant() {
  return z
    .unknown()
    .optional()
    .transform((value, ctx): Date | null => {
      if (value === undefined || value === null) return null;
      try {
        const ms = parseInstant(value, 'instant');
        const outside = instantProblem(ms);
        if (outside) {
          ctx.addIssue({ code: 'custom', message: outside });
          return z.NEVER;
        }
        return new Date(ms);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: engineReason(error) });
        return z.NEVER;
      }
    });
}

/** The engine's message without the field prefix zod's path already gives. */
function engineReason(error: unknown): string {
  if (error instanceof ScheduleSpecError) return `${error.reason}. Allowed: ${error.allowed}`;
  return String(error);
}

const declarationSchema = z.strictObject(
  {
    name,
    task: z
      .string({ error: "must be the task's name, e.g. 'reports.nightly'" })
      .trim()
      .min(1, { error: "must be the task's name, e.g. 'reports.nightly'" })
      .superRefine(printable),
    schedule: z.custom<ScheduleSpec>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), {
      error: 'must be crontab(...), every(...), solar(...) or clocked(...)',
    }),
    args: json<JsonValue[]>('array', '[2, 3]'),
    kwargs: json<JsonObject>('object', '{"user_id": 42}'),
    queue: optionalText('a queue name'),
    routingKey: optionalText('a routing key'),
    priority: z
      .int({ error: 'must be a whole number from 0 to 9, or null' })
      .min(0, { error: 'must be a whole number from 0 to 9, or null' })
      .max(9, { error: 'must be a whole number from 0 to 9, or null' })
      .nullish()
      .transform((v) => v ?? null),
    expires: duration(null, 1, "use a positive duration such as '10m'"),
    timeLimit: seconds(),
    softTimeLimit: seconds(),
    headers: json<JsonObject>('object', '{"x-team": "billing"}'),
    enabled: z.boolean({ error: 'must be true or false' }).default(DEFAULTS.enabled),
    startAt: instant(),
    endAt: instant(),
    maxRuns: z
      .int({ error: `must be a whole number from 1 to ${MAX_INT4}, or null` })
      .min(1, { error: `must be a whole number from 1 to ${MAX_INT4}, or null` })
      .max(MAX_INT4, { error: `must be a whole number from 1 to ${MAX_INT4}, or null` })
      .nullish()
      .transform((v) => v ?? null),
    overlap: z
      .enum(OVERLAP_POLICIES, { error: `must be one of ${OVERLAP_POLICIES.map((p) => `'${p}'`).join(', ')}` })
      .default(DEFAULTS.overlap),
    catchup: z
      .enum(CATCHUP_POLICIES, { error: `must be one of ${CATCHUP_POLICIES.map((p) => `'${p}'`).join(', ')}` })
      .default(DEFAULTS.catchup),
    catchupWindow: duration(DEFAULTS.catchupWindowMs, 0, 'use 0 or more'),
    jitter: duration(DEFAULTS.jitterMs, 0, 'use 0 or more'),
    runLease: duration(null, 1000, "use at least '1s'"),
    calendars: z
      .array(z.union([name, z.object({ name }).transform((c) => c.name)]), {
        error: "must be a list of calendar names or defineCalendar(...) values, e.g. ['weekends', holidays]",
      })
      .optional()
      .transform((list, ctx): string[] => {
        const names = list ?? [];
        const twice = names.find((n, i) => names.indexOf(n) !== i);
        if (twice !== undefined)
          ctx.addIssue({ code: 'custom', message: `names "${twice}" twice; name each calendar once` });
        return names;
      }),
    onExcluded: z
      .enum(CALENDAR_ACTIONS, { error: `must be one of ${CALENDAR_ACTIONS.map((p) => `'${p}'`).join(', ')}` })
      .default('skip'),
    startDeadline: duration(null, 1000, "use at least '1s', e.g. '5m'"),
    finishDeadline: duration(null, 1000, "use at least '1s', e.g. '1h'"),
    exclusionGroup: z
      .string({ error: 'must be a group name (e.g. "nightly-db") or null' })
      .superRefine((text, ctx) => {
        const problem = exclusionGroupProblem(text);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .nullish()
      .transform((v) => v ?? null),
    description: z
      .string({ error: 'must be a string or null' })
      .superRefine((text, ctx) => {
        const problem = storableTextProblem(text);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .nullish()
      .transform((v) => v ?? null),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? undefined : 'must be an object') },
);

/** The spec's columns, from a spec the engine accepted (compiled as `schedule`). */
function kindColumns(spec: ScheduleSpec, schedule: Schedule): Pick<ScheduleFields, KindColumn | 'dstPolicy'> {
  const none = {
    cron: null,
    cronFields: null,
    timezone: null,
    dstPolicy: null,
    everyMs: null,
    anchorAt: null,
    solarEvent: null,
    latitude: null,
    longitude: null,
    runAt: null,
  };
  switch (spec.kind) {
    case 'crontab':
      if (
        typeof spec.cron !== 'string' &&
        (typeof spec.cron !== 'object' || spec.cron === null || Array.isArray(spec.cron))
      ) {
        throw new ScheduleSpecError(
          'cron',
          spec.cron,
          'not a cron expression',
          "a cron string such as '30 2 * * *', or Celery's object form { minute, hour, dayOfWeek, dayOfMonth, monthOfYear }",
        );
      }
      {
        // A policy given (even in part) is stored in full; none stays null, the expression's default.
        const dstPolicy = spec.dst == null || !schedule.dst ? null : formatDstPolicy(schedule.dst);
        return typeof spec.cron === 'string'
          ? { ...none, kind: 'crontab', cron: spec.cron.trim(), timezone: spec.timezone, dstPolicy }
          : {
              ...none,
              kind: 'crontab',
              cronFields: cleanCeleryFields(spec.cron),
              timezone: spec.timezone,
              dstPolicy,
            };
      }
    case 'interval':
      return {
        ...none,
        kind: 'interval',
        everyMs: parseDuration(spec.every, 'every'),
        anchorAt:
          spec.anchor === undefined || spec.anchor === null
            ? null
            : new Date(parseInstant(spec.anchor, 'anchor')),
      };
    case 'solar':
      return {
        ...none,
        kind: 'solar',
        solarEvent: spec.event,
        latitude: spec.latitude,
        longitude: spec.longitude,
      };
    case 'clocked':
      return { ...none, kind: 'clocked', runAt: new Date(parseInstant(spec.runAt, 'runAt')) };
    default:
      throw new ScheduleSpecError(
        'kind',
        (spec as { kind?: unknown }).kind,
        'not a schedule kind',
        'build the schedule with crontab(...), every(...), solar(...) or clocked(...)',
      );
  }
}

/** Celery fields as stored (undefined keys dropped, arrays copied) so jsonb round-trips equal. */
function cleanCeleryFields(fields: CeleryCrontab): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) out[key] = Array.isArray(value) ? [...value] : (value as JsonValue);
  }
  return out;
}

/**
 * Validate one declaration; `now` judges "a crontab that never fires". `calendars` is where the
 * calendars it names are found; by default any name is accepted as a calendar that excludes nothing
 * (sync, and the operators' writes, check the names against the calendars that exist).
 */
export function parseDeclaration(
  input: unknown,
  now: number,
  calendars: CalendarLookup = ANY_CALENDAR,
): DeclarationResult {
  const declaredName =
    typeof input === 'object' && input !== null && typeof (input as { name?: unknown }).name === 'string'
      ? (input as { name: string }).name
      : undefined;
  const problems: DeclarationProblem[] = [];
  const parsed = declarationSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          problems.push({
            field: key,
            reason: `unknown option; the options are ${Object.keys(declarationSchema.shape).join(', ')}`,
          });
        }
        continue;
      }
      problems.push({ field: issue.path.map(String).join('.') || '(declaration)', reason: issue.message });
    }
  }
  // The spec is checked by the time engine even when other fields failed, so all problems show.
  const spec = (input as { schedule?: unknown } | null)?.schedule;
  let columns: ReturnType<typeof kindColumns> | undefined;
  if (typeof spec === 'object' && spec !== null) {
    const check = checkSpec(spec as ScheduleSpec, declaredName ?? '', now);
    if ('problem' in check) problems.push(check.problem);
    else columns = check.columns;
  }
  if (parsed.success && columns) {
    const d = parsed.data;
    if (d.startAt && d.endAt && d.startAt >= d.endAt) {
      problems.push({ field: 'endAt', reason: `must be after startAt (${d.startAt.toISOString()})` });
    }
    if (d.timeLimit !== null && d.softTimeLimit !== null && d.softTimeLimit >= d.timeLimit) {
      problems.push({
        field: 'softTimeLimit',
        reason: 'must be shorter than timeLimit, or the hard limit fires first',
      });
    }
    if (problems.length === 0) {
      const {
        schedule: _spec,
        name: declared,
        expires,
        timeLimit,
        softTimeLimit,
        catchupWindow,
        jitter,
        runLease,
        startDeadline,
        finishDeadline,
        ...rest
      } = d;
      const fields: ScheduleFields = {
        ...rest,
        ...columns,
        expiresMs: expires,
        timeLimitS: timeLimit,
        softTimeLimitS: softTimeLimit,
        catchupWindowMs: catchupWindow as number,
        jitterMs: jitter as number,
        runLeaseMs: runLease,
        startDeadlineMs: startDeadline,
        finishDeadlineMs: finishDeadline,
      };
      // Last, exactly what will be stored, through the checks every row goes through when loaded.
      const check = validateFields({ ...fields, name: declared }, now, calendars);
      if (check.ok) return { ok: true, name: declared, fields };
      problems.push({
        field: declarationField(check.problem.column),
        reason: check.problem.message,
      });
    }
  }
  return { ok: false, name: declaredName, problems };
}

function checkSpec(
  spec: ScheduleSpec,
  name: string,
  now: number,
): { columns: ReturnType<typeof kindColumns> } | { problem: DeclarationProblem } {
  try {
    // The engine first, on the spec as written, so messages quote the user's own values ('0s').
    const schedule = compileSchedule(spec, { name });
    const columns = kindColumns(spec, schedule);
    // Then exactly what will be stored, the way the loader will read it back.
    const check = validateSpec({ ...columns, name }, now, ANY_CALENDAR);
    if (!check.ok) {
      return {
        problem: { field: declarationField(check.problem.column), reason: check.problem.message },
      };
    }
    return { columns };
  } catch (error) {
    if (error instanceof ScheduleSpecError) {
      const hint =
        error.field === 'kind' ? ' Build it with crontab(...), every(...), solar(...) or clocked(...).' : '';
      return { problem: { field: builderField(spec, error.field), reason: error.message + hint } };
    }
    throw error;
  }
}

/** The engine's spec field as the builder call spells it: `timezone` is `crontab(..., { tz })`. */
function builderField(spec: ScheduleSpec, field: string): string {
  if (field === 'timezone') return 'schedule.tz';
  // A cron string's sub-field (`cron.minute`) is still the one string argument.
  if (field.startsWith('cron.') && spec.kind === 'crontab' && typeof spec.cron === 'string')
    return 'schedule.cron';
  return `schedule.${field}`;
}

/** A row's column as the declaration spells it: `cron_fields.minute` is `schedule.cron.minute`. */
export function declarationField(column: string): string {
  if (column.startsWith('cron_fields.')) return `schedule.cron.${column.slice(12)}`;
  const [head = '', ...path] = column.split('.');
  if (head in SPEC_COLUMN_FIELD) return `schedule.${SPEC_COLUMN_FIELD[head]}`;
  return [COLUMN_FIELD[head] ?? head, ...path].join('.');
}

/** Spec columns → the builder's argument names (`crontab(..., { tz })`, `every(ms, { anchor })`). */
const SPEC_COLUMN_FIELD: Record<string, string> = {
  cron: 'cron',
  cron_fields: 'cron',
  timezone: 'tz',
  dst_policy: 'dst',
  every_ms: 'every',
  anchor_at: 'anchor',
  solar_event: 'event',
  latitude: 'latitude',
  longitude: 'longitude',
  run_at: 'runAt',
  kind: 'kind',
};

/** The other columns → declaration options (args, kwargs and headers keep their own names). */
const COLUMN_FIELD: Record<string, string> = {
  routing_key: 'routingKey',
  expires_ms: 'expires',
  time_limit_s: 'timeLimit',
  soft_time_limit_s: 'softTimeLimit',
  start_at: 'startAt',
  end_at: 'endAt',
  max_runs: 'maxRuns',
  catchup_window_ms: 'catchupWindow',
  jitter_ms: 'jitter',
  run_lease_ms: 'runLease',
  on_excluded: 'onExcluded',
  start_deadline_ms: 'startDeadline',
  finish_deadline_ms: 'finishDeadline',
  exclusion_group: 'exclusionGroup',
};
