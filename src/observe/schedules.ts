/**
 * The schedules list: every schedule with its spec in words, state (and why), next fire in UTC and
 * in its zone, and its latest occurrence; filtered and paged in SQL, so 100k rows never leave the
 * database at once.
 */
import { and, asc, count, eq, ilike, isNotNull, or, type SQL, sql } from 'drizzle-orm';
import type { Database } from '../db/database.ts';
import { schedules } from '../db/schema.ts';
import { latestOccurrenceRows } from '../db/sql/occurrences-read.ts';
import { databaseNow } from '../db/store.ts';
import { describeSpec, type ManagedBy, type ScheduleRecord, specInWords } from '../model/index.ts';
import type { ScheduleKind } from '../time/index.ts';
import { type Instant, iso, maybeInstant } from './instant.ts';
import { type DisplayState, displayState, type RecordView, viewRecord } from './schedule-view.ts';

export const DISPLAY_STATES: readonly DisplayState[] = ['enabled', 'paused', 'disabled', 'invalid', 'done'];

export interface ScheduleFilter {
  /** Words found in the name, task or description (case-insensitive). */
  q?: string;
  state?: DisplayState;
  kind?: ScheduleKind;
  queue?: string;
  task?: string;
  managedBy?: ManagedBy;
}

export interface LatestOccurrence {
  scheduledFor: string;
  status: string;
  manual: boolean;
  taskId: string;
  error: string | null;
}

export interface ScheduleSummary {
  name: string;
  task: string;
  kind: string;
  /** As stored: `30 2 * * * (Europe/Berlin)`. */
  spec: string;
  /** In words: `02:30 Europe/Berlin`. */
  specWords: string;
  state: DisplayState;
  pausedAt: string | null;
  pausedReason: string | null;
  /** Why it is invalid: the column, what is wrong with it, and both as one line. */
  invalid: { column: string | null; problem: string; reason: string } | null;
  queue: string | null;
  managedBy: string;
  source: string | null;
  description: string | null;
  /** The zone its local times are in (the crontab's; UTC for the other kinds). */
  zone: string;
  nextFire: Instant | null;
  /** The next fire is in the past: due, no leader has fired it yet. */
  due: boolean;
  lastFire: Instant | null;
  latest: LatestOccurrence | null;
  totalRuns: number;
}

export interface ScheduleList {
  total: number;
  /** Every schedule by state, whatever the filter (for the filter's choices). */
  counts: Record<DisplayState, number>;
  limit: number;
  offset: number;
  schedules: ScheduleSummary[];
}

/** Stored columns that say each state (the leader keeps invalid_reason and next_fire_at current). */
const STATE_SQL: Record<DisplayState, SQL> = {
  invalid: sql`${schedules.invalidReason} is not null`,
  paused: sql`${schedules.invalidReason} is null and ${schedules.pausedAt} is not null`,
  disabled: sql`${schedules.invalidReason} is null and ${schedules.pausedAt} is null and not ${schedules.enabled}`,
  done: sql`${schedules.invalidReason} is null and ${schedules.pausedAt} is null and ${schedules.enabled} and ${schedules.nextFireAt} is null`,
  enabled: sql`${schedules.invalidReason} is null and ${schedules.pausedAt} is null and ${schedules.enabled} and ${schedules.nextFireAt} is not null`,
};

function filterSql(filter: ScheduleFilter): SQL | undefined {
  const like = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return and(
    filter.q
      ? or(
          ilike(schedules.name, like(filter.q)),
          ilike(schedules.task, like(filter.q)),
          ilike(schedules.description, like(filter.q)),
        )
      : undefined,
    filter.state ? STATE_SQL[filter.state] : undefined,
    filter.kind ? eq(schedules.kind, filter.kind) : undefined,
    filter.queue ? eq(schedules.queue, filter.queue) : undefined,
    filter.task ? ilike(schedules.task, like(filter.task)) : undefined,
    filter.managedBy ? eq(schedules.managedBy, filter.managedBy) : undefined,
  );
}

export async function listSchedules(
  database: Database,
  filter: ScheduleFilter,
  page: { limit: number; offset: number },
): Promise<ScheduleList> {
  const where = filterSql(filter);
  const rows = await database.db
    .select()
    .from(schedules)
    .where(where)
    .orderBy(asc(schedules.name))
    .limit(page.limit)
    .offset(page.offset);
  const [{ total } = { total: 0 }] = await database.db
    .select({ total: count() })
    .from(schedules)
    .where(where);
  const now = await databaseNow(database);
  const latest = await latestOccurrences(
    database,
    rows.map((r) => r.name),
  );
  return {
    total: Number(total),
    counts: await stateCounts(database),
    limit: page.limit,
    offset: page.offset,
    schedules: rows.map((r) => summarize(viewRecord(r, now), now, latest.get(r.name) ?? null)),
  };
}

export function summarize(view: RecordView, now: number, latest: LatestOccurrence | null): ScheduleSummary {
  const r: ScheduleRecord = view.record;
  return {
    name: r.name,
    task: r.task,
    kind: r.kind,
    spec: describeSpec(r),
    specWords: specInWords(r),
    state: displayState(view),
    pausedAt: iso(r.pausedAt),
    pausedReason: r.pausedReason,
    invalid: view.invalidReason
      ? {
          column: view.invalidColumn,
          problem: view.invalidProblem ?? view.invalidReason,
          reason: view.invalidReason,
        }
      : null,
    queue: r.queue,
    managedBy: r.managedBy,
    source: r.source,
    description: r.description,
    zone: view.zone.name,
    nextFire: maybeInstant(view.nextFireAt, view.zone),
    due: view.nextFireAt !== null && view.nextFireAt < now && view.state === 'enabled',
    lastFire: maybeInstant(r.lastFireAt?.getTime(), view.zone),
    latest,
    totalRuns: r.totalRuns,
  };
}

/** The latest occurrence of each named schedule. */
export async function latestOccurrences(
  database: Database,
  names: string[],
): Promise<Map<string, LatestOccurrence>> {
  const out = new Map<string, LatestOccurrence>();
  if (names.length === 0) return out;
  const rows = await latestOccurrenceRows(database, names);
  for (const r of rows) {
    out.set(r.name, {
      scheduledFor: iso(r.scheduled_for) as string,
      status: r.status,
      manual: r.manual,
      taskId: r.task_id,
      error: r.error,
    });
  }
  return out;
}

async function stateCounts(database: Database): Promise<Record<DisplayState, number>> {
  const [row] = await database.db
    .select({
      enabled: sql<number>`count(*) filter (where ${STATE_SQL.enabled})`,
      paused: sql<number>`count(*) filter (where ${STATE_SQL.paused})`,
      disabled: sql<number>`count(*) filter (where ${STATE_SQL.disabled})`,
      invalid: sql<number>`count(*) filter (where ${STATE_SQL.invalid})`,
      done: sql<number>`count(*) filter (where ${STATE_SQL.done})`,
    })
    .from(schedules);
  return {
    enabled: Number(row?.enabled ?? 0),
    paused: Number(row?.paused ?? 0),
    disabled: Number(row?.disabled ?? 0),
    invalid: Number(row?.invalid ?? 0),
    done: Number(row?.done ?? 0),
  };
}

/** The distinct queues and kinds, for the filter's choices. */
export async function filterChoices(database: Database): Promise<{ queues: string[]; kinds: string[] }> {
  const queues = await database.db
    .selectDistinct({ queue: schedules.queue })
    .from(schedules)
    .where(isNotNull(schedules.queue))
    .orderBy(asc(schedules.queue))
    .limit(200);
  const kinds = await database.db
    .selectDistinct({ kind: schedules.kind })
    .from(schedules)
    .orderBy(asc(schedules.kind));
  return { queues: queues.map((q) => q.queue as string), kinds: kinds.map((k) => k.kind) };
}
