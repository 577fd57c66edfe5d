/**
 * The reads of `metronome.schedules` that observe/ and the client make: the filtered, paged list
 * with its counts by state, the filter's choices, the invalid rows, the definitions' version key
 * and the client's list by name (its writes: schedules.ts, schedules-bulk.ts; the runtime's loads
 * and refresh: src/db/store.ts). Filtering and paging happen in SQL, so 100k rows never leave the
 * database at once.
 */
import { and, asc, count, eq, ilike, isNotNull, or, type SQL, sql } from 'drizzle-orm';
import type { DisplayState, ManagedBy, ScheduleRecord } from '../../model/index.ts';
import type { ScheduleKind } from '../../time/index.ts';
import type { Database, Db } from '../database.ts';
import { schedules } from '../schema.ts';

export interface ScheduleFilter {
  /** Words found in the name, task or description (case-insensitive). */
  q?: string;
  state?: DisplayState;
  kind?: ScheduleKind;
  queue?: string;
  task?: string;
  managedBy?: ManagedBy;
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

/** The schedule of this name, or null (`beat show`, the API, the client's `get`). */
export async function findSchedule(db: Db, name: string): Promise<ScheduleRecord | null> {
  const [row] = await db.select().from(schedules).where(eq(schedules.name, name));
  return row ?? null;
}

/** Every schedule by name (`beat list`). */
export async function listScheduleRecords(db: Db): Promise<ScheduleRecord[]> {
  return db.select().from(schedules).orderBy(asc(schedules.name));
}

/** One page of the schedules the filter keeps, by name, and how many it keeps in all. */
export async function schedulePage(
  database: Database,
  filter: ScheduleFilter,
  page: { limit: number; offset: number },
): Promise<{ rows: ScheduleRecord[]; total: number }> {
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
  return { rows, total: Number(total) };
}

/** Every schedule by state, whatever the filter (for the filter's choices). */
export async function displayStateCounts(database: Database): Promise<Record<DisplayState, number>> {
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

/** The rows with a stored verdict of invalid, by name, at most `limit`. */
export async function invalidSchedules(database: Database, limit: number): Promise<ScheduleRecord[]> {
  return database.db
    .select()
    .from(schedules)
    .where(isNotNull(schedules.invalidReason))
    .orderBy(asc(schedules.name))
    .limit(limit);
}

/** A key that changes whenever any definition does: the row count and the sum of the versions. */
export async function definitionsKey(database: Database): Promise<string> {
  const [row] = await database.rows<{ key: string }>(
    sql`select count(*) || ':' || coalesce(sum(version), 0) as key from metronome.schedules`,
  );
  return row?.key ?? '';
}

export interface ScheduleListOptions {
  managedBy?: ManagedBy;
  /** Names starting with this. */
  prefix?: string;
  task?: string;
  /** Default 100, at most 10,000. */
  limit?: number;
  offset?: number;
}

/** Schedules by name, a page at a time (the client's `list()`). */
export async function scheduleRecordsPage(db: Db, options: ScheduleListOptions): Promise<ScheduleRecord[]> {
  const conditions: SQL[] = [];
  if (options.managedBy) conditions.push(eq(schedules.managedBy, options.managedBy));
  if (options.prefix) conditions.push(ilike(schedules.name, `${options.prefix.replace(/[\\%_]/g, '\\$&')}%`));
  if (options.task) conditions.push(eq(schedules.task, options.task));
  return db
    .select()
    .from(schedules)
    .where(and(...conditions))
    .orderBy(asc(schedules.name))
    .limit(Math.min(Math.max(options.limit ?? 100, 1), 10_000))
    .offset(Math.max(options.offset ?? 0, 0));
}
