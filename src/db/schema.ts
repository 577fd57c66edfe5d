/**
 * The Drizzle schema of Postgres schema `metronome` (docs/data-model.md). drizzle-kit generates
 * the SQL in `migrations/` from this file; triggers live in hand-written migrations beside them.
 *
 * Ids are `bigint` identities, not uuids: they are only ever an internal join key (people and the
 * API use the unique `name`; task ids are derived from the id and the occurrence), and a compact,
 * ordered key keeps the occurrences' slot index `(schedule_id, scheduled_for)` small and its inserts
 * append-only. `mode: 'number'` is safe: 2^53 ids is more than any deployment will create.
 *
 * The CHECK constraints are named after what they require, because Postgres puts the name in the
 * error a person editing rows with SQL sees (`violates check constraint "solar_needs_event_latitude_longitude"`).
 */
import { type SQL, sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  customType,
  date,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgSchema,
  primaryKey,
  smallint,
  text,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { ALERT_KINDS, type AlertKind, DEADLINE_OUTCOMES, type DeadlineOutcome } from '../model/deadline.ts';
import { type JsonObject, type JsonValue, parseJsonExact, stringifyJson } from '../model/json.ts';
import { MAX_DURATION_MS } from '../model/limits.ts';
import { DST_POLICY_TEXTS, MANAGED_BY, type ManagedBy } from '../model/schedule.ts';
import { CALENDAR_ACTIONS } from '../time/calendar.ts';
import { parseTimestamptz } from './timestamps.ts';

export const metronome = pgSchema('metronome');

/** timestamptz as a Date, read strictly (src/db/timestamps.ts: 'infinity' becomes an Invalid Date). */
const tstz = (name: string) =>
  customType<{ data: Date; driverData: string }>({
    dataType: () => 'timestamp with time zone',
    toDriver: (value) => value.toISOString(),
    fromDriver: (value) => (typeof value === 'string' ? parseTimestamptz(value) : new Date(value)),
  })(name);
const ms = (name: string) => bigint(name, { mode: 'number' });

/** JSON as it may sit in a jsonb column. */
export type Json = JsonValue;

/**
 * jsonb read without rounding a number (src/model/json.ts): the message columns (args, kwargs,
 * headers) reach the workers exactly as the row holds them. Both drivers hand jsonb over as text
 * (src/db/database.ts); cron_fields, read with Drizzle's own jsonb, is parsed by JSON.parse.
 */
const exactJsonb = <T extends JsonValue>(name: string) =>
  customType<{ data: T; driverData: string }>({
    dataType: () => 'jsonb',
    toDriver: (value) => stringifyJson(value),
    fromDriver: (value) => (typeof value === 'string' ? (parseJsonExact(value) as T) : value),
  })(name);

/**
 * Characters a name may not hold (docs/schedules.md, "Limits"): every Unicode control (Cc) and format
 * (Cf) character and U+2028/U+2029, the set src/model/limits.ts refuses (migration 0013).
 */
const NOT_PRINTABLE_CLASS = String.raw`[\x01-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]`;
const printable = (column: SQL | unknown) =>
  sql`${column} is null or ${column} !~ ${sql.raw(`'${NOT_PRINTABLE_CLASS}'`)}`;

/** A CHECK's list of allowed values, from the constant the code uses: `'a', 'b'`. */
const listed = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(', '));

export const schedules = metronome.table(
  'schedules',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    name: text('name').notNull().unique(),
    task: text('task').notNull(),
    kind: text('kind').notNull(),
    // crontab: a cron string or Celery's object form (exactly one), read in `timezone`.
    cron: text('cron'),
    cronFields: jsonb('cron_fields').$type<JsonObject>(),
    timezone: text('timezone'),
    // what a local time that occurs twice or not at all does; null: the default (migration 0011)
    dstPolicy: text('dst_policy'),
    // interval: a grid anchor_at + k × every_ms (anchor null = the Unix epoch).
    everyMs: ms('every_ms'),
    anchorAt: tstz('anchor_at'),
    // solar
    solarEvent: text('solar_event'),
    latitude: doublePrecision('latitude'),
    longitude: doublePrecision('longitude'),
    // clocked
    runAt: tstz('run_at'),
    // the message
    args: exactJsonb<JsonValue[]>('args').notNull().default(sql`'[]'::jsonb`),
    kwargs: exactJsonb<JsonObject>('kwargs').notNull().default(sql`'{}'::jsonb`),
    queue: text('queue'),
    routingKey: text('routing_key'),
    priority: integer('priority'),
    headers: exactJsonb<JsonObject>('headers').notNull().default(sql`'{}'::jsonb`),
    expiresMs: ms('expires_ms'),
    timeLimitS: integer('time_limit_s'),
    softTimeLimitS: integer('soft_time_limit_s'),
    // when it runs
    enabled: boolean('enabled').notNull().default(true),
    startAt: tstz('start_at'),
    endAt: tstz('end_at'),
    maxRuns: integer('max_runs'),
    totalRuns: integer('total_runs').notNull().default(0),
    overlap: text('overlap').notNull().default('skip'),
    catchup: text('catchup').notNull().default('latest'),
    catchupWindowMs: ms('catchup_window_ms').notNull().default(3_600_000),
    jitterMs: ms('jitter_ms').notNull().default(0),
    runLeaseMs: ms('run_lease_ms'),
    // deadlines after each slot (migration 0016, src/model/deadline.ts); null: none
    startDeadlineMs: ms('start_deadline_ms'),
    finishDeadlineMs: ms('finish_deadline_ms'),
    // schedules naming the same group share one run lock: no two runs of the group overlap (0017)
    exclusionGroup: text('exclusion_group'),
    description: text('description'),
    // business calendars (migration 0014): the calendars, by name, whose excluded days this schedule
    // does not fire on, and what an excluded fire does; calendar_revision is bumped by a trigger
    // when one of them changes, so the change reaches the leader as an edit of this row.
    calendars: text('calendars').array().notNull().default(sql`'{}'`),
    onExcluded: text('on_excluded').notNull().default('skip'),
    calendarRevision: bigint('calendar_revision', { mode: 'number' }).notNull().default(0),
    // ownership and operator state; `sync` never touches paused_at / paused_reason.
    managedBy: text('managed_by').$type<ManagedBy>().notNull().default('db'),
    source: text('source'),
    pausedAt: tstz('paused_at'),
    pausedReason: text('paused_reason'),
    // the leader resumes the schedule at this instant; null: paused until resumed by hand (0015)
    pausedUntil: tstz('paused_until'),
    // the next skip_count occurrences are recorded `skipped` with skip_reason, never sent (0015)
    skipCount: integer('skip_count').notNull().default(0),
    skipReason: text('skip_reason'),
    invalidReason: text('invalid_reason'),
    nextFireAt: tstz('next_fire_at'),
    lastFireAt: tstz('last_fire_at'),
    version: bigint('version', { mode: 'number' }).notNull().default(1),
    createdAt: tstz('created_at').notNull().default(sql`now()`),
    updatedAt: tstz('updated_at').notNull().default(sql`now()`),
  },
  (t) => [
    check('name_not_blank', sql`length(btrim(${t.name})) > 0`),
    check('task_not_blank', sql`length(btrim(${t.task})) > 0`),
    check('kind_is_known', sql`${t.kind} in ('crontab', 'interval', 'solar', 'clocked')`),
    check(
      'crontab_needs_timezone_and_cron_or_cron_fields',
      sql`${t.kind} <> 'crontab' or (${t.timezone} is not null and num_nonnulls(${t.cron}, ${t.cronFields}) = 1)`,
    ),
    check('interval_needs_every_ms', sql`${t.kind} <> 'interval' or ${t.everyMs} is not null`),
    check(
      'solar_needs_event_latitude_longitude',
      sql`${t.kind} <> 'solar' or num_nonnulls(${t.solarEvent}, ${t.latitude}, ${t.longitude}) = 3`,
    ),
    check('clocked_needs_run_at', sql`${t.kind} <> 'clocked' or ${t.runAt} is not null`),
    // A column of another kind left set would be silently ignored: refuse it instead.
    check(
      'only_the_columns_of_the_kind',
      sql`(${t.kind} = 'crontab' or num_nonnulls(${t.cron}, ${t.cronFields}, ${t.timezone}) = 0)
      and (${t.kind} = 'interval' or num_nonnulls(${t.everyMs}, ${t.anchorAt}) = 0)
      and (${t.kind} = 'solar' or num_nonnulls(${t.solarEvent}, ${t.latitude}, ${t.longitude}) = 0)
      and (${t.kind} = 'clocked' or ${t.runAt} is null)`,
    ),
    check('cron_not_blank', sql`${t.cron} is null or length(btrim(${t.cron})) > 0`),
    check('cron_fields_is_object', sql`${t.cronFields} is null or jsonb_typeof(${t.cronFields}) = 'object'`),
    check('every_ms_at_least_1000', sql`${t.everyMs} is null or ${t.everyMs} >= 1000`),
    check(
      'solar_event_is_known',
      sql`${t.solarEvent} is null or ${t.solarEvent} in ('dawn_astronomical', 'dawn_nautical', 'dawn_civil', 'sunrise', 'solar_noon', 'sunset', 'dusk_civil', 'dusk_nautical', 'dusk_astronomical')`,
    ),
    check('latitude_in_range', sql`${t.latitude} is null or ${t.latitude} between -90 and 90`),
    check('longitude_in_range', sql`${t.longitude} is null or ${t.longitude} between -180 and 180`),
    check('args_is_array', sql`jsonb_typeof(${t.args}) = 'array'`),
    check('kwargs_is_object', sql`jsonb_typeof(${t.kwargs}) = 'object'`),
    check('headers_is_object', sql`jsonb_typeof(${t.headers}) = 'object'`),
    check('priority_0_to_9', sql`${t.priority} is null or ${t.priority} between 0 and 9`),
    check('expires_ms_positive', sql`${t.expiresMs} is null or ${t.expiresMs} > 0`),
    check('time_limit_s_positive', sql`${t.timeLimitS} is null or ${t.timeLimitS} > 0`),
    check('soft_time_limit_s_positive', sql`${t.softTimeLimitS} is null or ${t.softTimeLimitS} > 0`),
    check(
      'start_at_before_end_at',
      sql`${t.startAt} is null or ${t.endAt} is null or ${t.startAt} < ${t.endAt}`,
    ),
    check('max_runs_positive', sql`${t.maxRuns} is null or ${t.maxRuns} > 0`),
    check('total_runs_not_negative', sql`${t.totalRuns} >= 0`),
    check('overlap_is_known', sql`${t.overlap} in ('skip', 'allow', 'buffer_one')`),
    check('catchup_is_known', sql`${t.catchup} in ('latest', 'skip', 'all')`),
    check('catchup_window_ms_not_negative', sql`${t.catchupWindowMs} >= 0`),
    check('jitter_ms_not_negative', sql`${t.jitterMs} >= 0`),
    check('run_lease_ms_positive', sql`${t.runLeaseMs} is null or ${t.runLeaseMs} > 0`),
    check('managed_by_is_known', sql`${t.managedBy} in (${listed(MANAGED_BY)})`),
    // Migration 0011: the policy in its canonical spelling, and on crontabs only.
    check(
      'dst_policy_is_known',
      sql`${t.dstPolicy} is null or ${t.dstPolicy} in (${listed(DST_POLICY_TEXTS)})`,
    ),
    // Migration 0015: skip and pause until.
    check('skip_count_not_negative', sql`${t.skipCount} >= 0`),
    check('paused_until_only_when_paused', sql`${t.pausedUntil} is null or ${t.pausedAt} is not null`),
    check('dst_policy_only_for_crontab', sql`${t.kind} = 'crontab' or ${t.dstPolicy} is null`),
    // Migration 0017: a group's name is part of its lock key and shown everywhere: a plain name.
    check(
      'exclusion_group_is_a_name',
      sql`${t.exclusionGroup} is null or ${t.exclusionGroup} ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$'`,
    ),
    // Migration 0003 (added NOT VALID: rows written before it are quarantined by the loader).
    check('name_is_printable', printable(t.name)),
    check('task_is_printable', printable(t.task)),
    check('queue_is_printable', printable(t.queue)),
    check('routing_key_is_printable', printable(t.routingKey)),
    ...[
      t.anchorAt,
      t.runAt,
      t.startAt,
      t.endAt,
      t.pausedAt,
      t.pausedUntil,
      t.nextFireAt,
      t.lastFireAt,
      t.createdAt,
      t.updatedAt,
    ].map((c) => check(`${c.name}_is_finite`, sql`${c} is null or isfinite(${c})`)),
    // Migration 0016: deadlines of at least a second, the finish one not before the start one.
    check(
      'start_deadline_ms_at_least_1000',
      sql`${t.startDeadlineMs} is null or ${t.startDeadlineMs} >= 1000`,
    ),
    check(
      'finish_deadline_ms_at_least_1000',
      sql`${t.finishDeadlineMs} is null or ${t.finishDeadlineMs} >= 1000`,
    ),
    check(
      'finish_deadline_not_before_start_deadline',
      sql`${t.startDeadlineMs} is null or ${t.finishDeadlineMs} is null or ${t.finishDeadlineMs} >= ${t.startDeadlineMs}`,
    ),
    ...[
      t.everyMs,
      t.expiresMs,
      t.catchupWindowMs,
      t.jitterMs,
      t.runLeaseMs,
      t.startDeadlineMs,
      t.finishDeadlineMs,
    ].map((c) =>
      check(`${c.name}_at_most_100_years`, sql`${c} is null or ${c} <= ${sql.raw(String(MAX_DURATION_MS))}`),
    ),
    check('version_is_safe', sql`${t.version} between 1 and ${sql.raw(String(Number.MAX_SAFE_INTEGER))}`),
    check('on_excluded_is_known', sql`${t.onExcluded} in (${listed(CALENDAR_ACTIONS)})`),
    check('calendars_has_no_nulls', sql`array_position(${t.calendars}, null) is null`),
    index('schedules_calendars_idx').using('gin', t.calendars),
    // The leader's horizon read pages by (next_fire_at, id); its background fill finds rows with no
    // next_fire_at, or quarantined, by id (migration 0010).
    index('schedules_next_fire_at_id_idx').on(t.nextFireAt, t.id),
    index('schedules_unsettled_idx')
      .on(t.id)
      .where(sql`${t.nextFireAt} is null or ${t.invalidReason} is not null`),
    // The leader's look for pauses that end (migration 0015).
    index('schedules_paused_until_idx').on(t.pausedUntil).where(sql`${t.pausedUntil} is not null`),
    // The leader's deadline pass reads only schedules with deadlines (migration 0016).
    index('schedules_with_deadlines_idx')
      .on(t.id)
      .where(sql`${t.startDeadlineMs} is not null or ${t.finishDeadlineMs} is not null`),
  ],
);

/**
 * Business calendars (migration 0014; docs/schedules.md, "Calendars"): a name, excluded weekdays
 * (0 = Sunday … 6) and excluded days (calendar_days). An edit of either is an edit of every
 * schedule that names the calendar (triggers bump their calendar_revision).
 */
export const calendars = metronome.table(
  'calendars',
  {
    name: text('name').primaryKey(),
    description: text('description'),
    weekdays: smallint('weekdays').array().notNull().default(sql`'{}'`),
    managedBy: text('managed_by').$type<ManagedBy>().notNull().default('db'),
    source: text('source'),
    version: bigint('version', { mode: 'number' }).notNull().default(1),
    createdAt: tstz('created_at').notNull().default(sql`now()`),
    updatedAt: tstz('updated_at').notNull().default(sql`now()`),
  },
  (t) => [
    check('calendar_name_not_blank', sql`length(btrim(${t.name})) > 0 and length(${t.name}) <= 200`),
    check('calendar_name_is_printable', printable(t.name)),
    check('weekdays_0_to_6', sql`${t.weekdays} <@ '{0,1,2,3,4,5,6}'::smallint[]`),
    check('calendar_managed_by_is_known', sql`${t.managedBy} in (${listed(MANAGED_BY)})`),
  ],
);

/** A calendar's excluded days: one day (first_day = last_day) or an inclusive range, with a label. */
export const calendarDays = metronome.table(
  'calendar_days',
  {
    calendar: text('calendar')
      .notNull()
      .references(() => calendars.name, { onDelete: 'cascade', onUpdate: 'cascade' }),
    firstDay: date('first_day', { mode: 'string' }).notNull(),
    lastDay: date('last_day', { mode: 'string' }).notNull(),
    label: text('label'),
  },
  (t) => [
    primaryKey({ name: 'calendar_days_pkey', columns: [t.calendar, t.firstDay] }),
    check('last_day_not_before_first_day', sql`${t.lastDay} >= ${t.firstDay}`),
    check('day_range_at_most_3660_days', sql`${t.lastDay} - ${t.firstDay} < 3660`),
    check('days_are_finite', sql`isfinite(${t.firstDay}) and isfinite(${t.lastDay})`),
  ],
);
export type CalendarRow = typeof calendars.$inferSelect;
export type CalendarDayRow = typeof calendarDays.$inferSelect;

/** What an occurrence can be; the runtime writes these, `beat history` shows them. */
export const OCCURRENCE_STATUSES = [
  'claimed',
  'enqueued',
  'running',
  'succeeded',
  'failed',
  'missed',
  'skipped_overlap',
  'buffered',
  'expired',
  'paused',
  'revoked',
  'lease_ended',
  /** An operator skipped it (`beat skip`, migration 0015): recorded with the reason, never sent. */
  'skipped',
] as const;
export type OccurrenceStatus = (typeof OCCURRENCE_STATUSES)[number];

/** The outcomes an operator looks for first: a slot that did not run, or a run that did not succeed. */
export const PROBLEM_STATUSES = ['missed', 'skipped_overlap', 'failed', 'expired'] as const;

/**
 * The ledger. No foreign key to `schedules` on purpose: a schedule's history outlives the schedule
 * (removed, pruned by `sync --prune`), so `schedule_name` is kept on every row.
 */
export const occurrences = metronome.table(
  'occurrences',
  {
    scheduleId: bigint('schedule_id', { mode: 'number' }).notNull(),
    scheduleName: text('schedule_name').notNull(),
    scheduledFor: tstz('scheduled_for').notNull(),
    fireAt: tstz('fire_at').notNull(),
    taskId: text('task_id').primaryKey(),
    status: text('status').$type<OccurrenceStatus>().notNull(),
    manual: boolean('manual').notNull().default(false),
    /** `beat trigger --force`: enqueue without taking the run lock. */
    force: boolean('force').notNull().default(false),
    leaderEpoch: bigint('leader_epoch', { mode: 'number' }),
    claimedAt: tstz('claimed_at').notNull().default(sql`now()`),
    enqueuedAt: tstz('enqueued_at'),
    /** When the run was first seen started (the leader's observation; migration 0016). */
    startedAt: tstz('started_at'),
    finishedAt: tstz('finished_at'),
    error: text('error'),
    /**
     * How the occurrence stood against its schedule's deadlines, once decided (src/model/deadline.ts;
     * migration 0016); null for schedules without deadlines and until decided.
     */
    deadlineOutcome: text('deadline_outcome').$type<DeadlineOutcome>(),
    deadlineReason: text('deadline_reason'),
    /** The backfill that sent this run (migration 0017); null for a run of the schedule's own time. */
    backfillId: bigint('backfill_id', { mode: 'number' }),
  },
  (t) => [
    // One scheduled occurrence per slot: the key that makes a double claim impossible. Manual runs
    // (`beat trigger`) are outside it: each is its own run, and one at a slot's instant must not take
    // the slot's place.
    uniqueIndex('occurrences_slot_idx').on(t.scheduleId, t.scheduledFor).where(sql`not ${t.manual}`),
    check('status_is_known', sql`status in (${listed(OCCURRENCE_STATUSES)})`),
    check(
      'deadline_outcome_is_known',
      sql`${t.deadlineOutcome} is null or ${t.deadlineOutcome} in (${listed(DEADLINE_OUTCOMES)})`,
    ),
    // The runtime's "what is in flight" query; a partial index stays small however long history is.
    index('occurrences_in_flight_idx')
      .on(t.status)
      .where(sql`${t.status} in ('claimed', 'buffered', 'enqueued', 'running')`),
    index('occurrences_history_idx').on(t.scheduleName, t.scheduledFor.desc()),
    // The dashboard's windows (the last hour, the last day) and the prune by age read a time range.
    // BRIN, not a b-tree: scheduled_for grows with the table, so a few hundred bytes index it and a
    // claim pays next to nothing for it.
    index('occurrences_scheduled_for_brin').using('brin', t.scheduledFor),
    // Missed, skipped and failed counts: rare rows, so a small partial index answers them.
    index('occurrences_problems_idx')
      .on(t.scheduledFor, t.status)
      .where(sql`status in (${listed(PROBLEM_STATUSES)})`),
  ],
);

export const BACKFILL_STATUSES = ['pending', 'running', 'done', 'failed', 'cancelled'] as const;
export type BackfillStatus = (typeof BACKFILL_STATUSES)[number];

/**
 * Backfill requests (migration 0017): recorded by `beat backfill` and the API, executed by the
 * leader at `rate_per_second`, fenced by its term. `next_slot` is the cursor (the first slot not yet
 * claimed; null once all were), moved in the claim's transaction, so the next leader resumes where
 * a killed one stopped. No foreign key to `schedules`, like the ledger.
 */
export const backfills = metronome.table(
  'backfills',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    scheduleId: bigint('schedule_id', { mode: 'number' }).notNull(),
    scheduleName: text('schedule_name').notNull(),
    rangeFrom: tstz('range_from').notNull(),
    rangeTo: tstz('range_to').notNull(),
    ratePerSecond: doublePrecision('rate_per_second').notNull(),
    slots: integer('slots').notNull(),
    nextSlot: tstz('next_slot'),
    claimed: integer('claimed').notNull().default(0),
    already: integer('already').notNull().default(0),
    status: text('status').$type<BackfillStatus>().notNull().default('pending'),
    error: text('error'),
    requestedBy: text('requested_by').notNull(),
    requestedAt: tstz('requested_at').notNull().default(sql`now()`),
    finishedAt: tstz('finished_at'),
  },
  (t) => [
    check('backfill_status_is_known', sql`${t.status} in (${listed(BACKFILL_STATUSES)})`),
    check('backfill_range_is_ordered', sql`${t.rangeFrom} <= ${t.rangeTo}`),
    check('backfill_rate_positive', sql`${t.ratePerSecond} > 0`),
    check('backfill_counts_not_negative', sql`${t.slots} >= 0 and ${t.claimed} >= 0 and ${t.already} >= 0`),
    index('backfills_open_idx').on(t.id).where(sql`${t.status} in ('pending', 'running')`),
  ],
);

/** One row per beat group: the lease, measured on database time, and its fencing epoch. */
export const leader = metronome.table('leader', {
  grp: text('grp').primaryKey(),
  holder: text('holder'),
  epoch: bigint('epoch', { mode: 'number' }).notNull().default(0),
  expiresAt: tstz('expires_at'),
  /**
   * The backend pid of the holder's lease session. When that session is gone (the holder crashed and
   * Postgres closed its connection) a standby takes over at once instead of waiting out the lease.
   */
  holderPid: integer('holder_pid'),
  /**
   * When the lease taken over from a crashed holder would have ended: until then the new leader does
   * not re-send the old one's claims (a holder whose session died may still be alive for that long).
   */
  previousExpiresAt: tstz('previous_expires_at'),
});

/**
 * Every leader term: one row per epoch, written by a trigger on `leader` (migrations, "leader
 * history"), so the runtime's lease queries stay as they are. A term ends `released` (a hand-over:
 * SIGTERM) or `expired` (the lease ran out: a crash, a stall, a partition); the next term's
 * `started_at` minus this one's `ended_at` is how long the group had no leader.
 */
export const leaderHistory = metronome.table(
  'leader_history',
  {
    grp: text('grp').notNull(),
    epoch: bigint('epoch', { mode: 'number' }).notNull(),
    holder: text('holder').notNull(),
    startedAt: tstz('started_at').notNull(),
    endedAt: tstz('ended_at'),
    endReason: text('end_reason'),
  },
  (t) => [
    primaryKey({ columns: [t.grp, t.epoch] }),
    check(
      'end_reason_is_known',
      sql`${t.endReason} is null or ${t.endReason} in ('released', 'expired', 'taken_over')`,
    ),
  ],
);

/** The beat processes: each upserts its row every few seconds (src/beat/presence.ts). */
export const replicas = metronome.table('replicas', {
  id: text('id').primaryKey(),
  grp: text('grp').notNull(),
  host: text('host').notNull(),
  pid: integer('pid').notNull(),
  role: text('role').notNull(),
  /** Where its HTTP server listens (host:port as configured), or null when off. */
  http: text('http'),
  version: text('version').notNull(),
  startedAt: tstz('started_at').notNull(),
  seenAt: tstz('seen_at').notNull(),
});

/**
 * How an actor reached Metronome: the CLI, the HTTP API, the client in the package (migration
 * 0012), or the beat itself (it resumes a schedule whose pause has ended: migration 0015).
 */
const ACTOR_VIAS = ['cli', 'api', 'client', 'beat'] as const;
export type ActorVia = (typeof ACTOR_VIAS)[number];

/**
 * What an audit record says was done (src/db/sql/audit.ts says what each records in `detail`). Not
 * a CHECK: a new action needs no migration.
 */
export type AuditAction =
  | 'pause'
  | 'resume'
  | 'skip'
  | 'trigger'
  | 'backfill'
  | 'enable'
  | 'disable'
  | 'create'
  | 'update'
  | 'remove'
  | 'sync'
  | 'import'
  | 'calendar';

/**
 * Every operator action, through the CLI, the API or the client: pause, resume, trigger, enable,
 * disable; the create, update and remove of a database-owned schedule (`beat add|remove`, the API,
 * the client); and each schedule `beat sync` and `beat import` write. Who, how, what, when.
 */
export const auditLog = metronome.table(
  'audit_log',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    at: tstz('at').notNull().default(sql`now()`),
    actor: text('actor').notNull(),
    via: text('via').$type<ActorVia>().notNull(),
    address: text('address'),
    action: text('action').$type<AuditAction>().notNull(),
    scheduleName: text('schedule_name').notNull(),
    detail: jsonb('detail').$type<Record<string, Json>>().notNull().default(sql`'{}'::jsonb`),
  },
  (t) => [
    check('via_is_known', sql`${t.via} in (${listed(ACTOR_VIAS)})`),
    index('audit_log_schedule_idx').on(t.scheduleName, t.id.desc()),
  ],
);

/**
 * The alerts outbox (migration 0016): a breach of a schedule's deadline, or its recovery, one row
 * each, keyed by its idempotency key so a second leader raising it again adds nothing. Only the
 * leader delivers, fenced by its epoch (src/db/sql/alerts.ts); `delivered_at` set once a webhook
 * receiver accepted it; `delivery` 'none' when no webhook was configured when it was raised.
 */
export const alerts = metronome.table(
  'alerts',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    key: text('key').notNull().unique(),
    scheduleId: bigint('schedule_id', { mode: 'number' }).notNull(),
    scheduleName: text('schedule_name').notNull(),
    scheduledFor: tstz('scheduled_for').notNull(),
    kind: text('kind').$type<AlertKind>().notNull(),
    reason: text('reason').notNull(),
    raisedAt: tstz('raised_at').notNull().default(sql`now()`),
    raisedEpoch: bigint('raised_epoch', { mode: 'number' }),
    delivery: text('delivery').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: tstz('next_attempt_at').notNull().default(sql`now()`),
    deliveredAt: tstz('delivered_at'),
    lastError: text('last_error'),
  },
  (t) => [
    check('alert_kind_is_known', sql`${t.kind} in (${listed(ALERT_KINDS)})`),
    check('delivery_is_known', sql`${t.delivery} in ('pending', 'delivered', 'none')`),
    index('alerts_pending_idx').on(t.nextAttemptAt).where(sql`${t.delivery} = 'pending'`),
    index('alerts_schedule_idx').on(t.scheduleId, t.id.desc()),
  ],
);

export type ScheduleRow = typeof schedules.$inferSelect;
export type NewScheduleRow = typeof schedules.$inferInsert;
export type OccurrenceRow = typeof occurrences.$inferSelect;
