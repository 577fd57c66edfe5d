/**
 * The schedule store: how the runtime loads `metronome.schedules`, validated (the table's other
 * statements: src/db/sql/schedules*.ts).
 *
 * For the runtime: `horizonPage()` (the firing rows due up to an instant, a page at a time by
 * (next_fire_at, id)), `unfilledPage()` (rows without next_fire_at, or quarantined, by id), and
 * `refreshSchedules(ids)` for the rows change-feed notifications named, a batch at a time — each
 * validating what it reads (a bad row is quarantined with `invalid_reason`, logged and left out; a
 * fixed one is cleared). `loadSchedules()` reads every row (commands and tests). `next_fire_at` is
 * computed on every write made through src/db/sql/schedules.ts, schedules-bulk.ts and
 * schedules-import.ts (the operators', sync's and the importer's writes), so a start reads it instead of recomputing 100k
 * crontabs; only rows whose spec was changed by SQL (the update trigger clears next_fire_at) are
 * recomputed on load.
 */
import { performance } from 'node:perf_hooks';
import { asc, gt, inArray, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { silentLogger } from '../logger.ts';
import {
  cursorAfterChange,
  NO_CALENDARS,
  type RecordCheck,
  type RowProblem,
  type ScheduleRecord,
  type ScheduleState,
  scheduleState,
  unfireableProblem,
  validateRecord,
} from '../model/index.ts';
import type { Schedule } from '../time/index.ts';
import type { Database, Db } from './database.ts';
import { isCheckViolation } from './errors.ts';
import { type ScheduleRow, schedules } from './schema.ts';
import { calendarLookup, namedCalendars } from './sql/calendars.ts';
import { schedulesWithHistory } from './sql/occurrences-read.ts';
import { markBookkeeping } from './sql/schedules.ts';

// The model's record and the table's row must stay column-for-column the same.
const _rowIsRecord = (row: ScheduleRow): ScheduleRecord => row;
void _rowIsRecord;

/** A valid schedule, compiled, with its state. */
export interface LoadedSchedule {
  record: ScheduleRecord;
  schedule: Schedule;
  /** `enabled` is the one the runtime fires; `paused` and `disabled` are kept for display. */
  state: Exclude<ScheduleState, 'invalid'>;
  /** Epoch ms of the next fire (stored), null when there is none (done, dormant, ended). */
  nextFireAt: number | null;
}

/** A row left out of scheduling, and why (also stored in its `invalid_reason`). */
export interface InvalidSchedule {
  record: ScheduleRecord;
  reason: string;
}

export interface LoadResult {
  schedules: LoadedSchedule[];
  invalid: InvalidSchedule[];
}

export interface StoreOptions {
  log?: Logger;
  /** The instant to judge against, epoch ms; default the database's clock. */
  now?: number;
}

const PAGE = 5_000;
/** Validation yields to the event loop after this much work. */
const YIELD_AFTER_MS = 20;

/** The database's clock in epoch ms (due decisions and next-fire computations use it, not ours). */
export async function databaseNow(database: Database, on?: Db): Promise<number> {
  const [row] = await database.rows<{ ms: number | string }>(
    sql`select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms`,
    on,
  );
  return Math.floor(Number(row?.ms));
}

/**
 * Load and validate every schedule, paging by id so 100k rows never sit in one result. Rows are
 * quarantined or cleared as they are found (one batched write per page); the result lists valid
 * ones (any state) and invalid ones.
 */
export async function loadSchedules(database: Database, options: StoreOptions = {}): Promise<LoadResult> {
  const now = options.now ?? (await databaseNow(database));
  const log = options.log ?? silentLogger;
  const result: LoadResult = { schedules: [], invalid: [] };
  for await (const page of schedulePages(database)) {
    for (const checked of await settle(database, page, now, log)) {
      if ('reason' in checked) result.invalid.push(checked);
      else result.schedules.push(checked);
    }
  }
  if (result.invalid.length > 0) {
    log.warn(
      { invalid: result.invalid.length, schedules: result.invalid.map((i) => i.record.name).slice(0, 100) },
      `${result.invalid.length} schedule(s) are invalid and are left out until fixed`,
    );
  }
  return result;
}

/** Every schedule row, a page at a time in id order, so 100k rows never sit in one result. */
export async function* schedulePages(database: Database, size = PAGE): AsyncGenerator<ScheduleRow[]> {
  let lastId = 0;
  for (;;) {
    const page = await database.db
      .select()
      .from(schedules)
      .where(gt(schedules.id, lastId))
      .orderBy(asc(schedules.id))
      .limit(size);
    if (page.length > 0) yield page.map(shareStrings);
    if (page.length < size) return;
    lastId = page[page.length - 1]!.id;
  }
}

/** The text columns most rows share a value of (a kind, a zone, a task name, a policy). */
const SHARED_TEXT = [
  'task',
  'kind',
  'cron',
  'timezone',
  'dstPolicy',
  'solarEvent',
  'queue',
  'routingKey',
  'overlap',
  'catchup',
  'managedBy',
  'source',
] as const satisfies ReadonlyArray<keyof ScheduleRow>;
const TEXTS = new Map<string, string>();
const TEXTS_CAP = 100_000;

/**
 * One string per distinct value of those columns instead of one per row: a herd within the horizon
 * is held whole, and 100,000 copies of "interval" or "Europe/Berlin" are a good part of its memory.
 */
function shareStrings(row: ScheduleRow): ScheduleRow {
  const r = row as unknown as Record<string, unknown>;
  for (const column of SHARED_TEXT) {
    const value = r[column];
    if (typeof value !== 'string') continue;
    const shared = TEXTS.get(value);
    if (shared !== undefined) r[column] = shared;
    else {
      if (TEXTS.size >= TEXTS_CAP) TEXTS.clear();
      TEXTS.set(value, value);
    }
  }
  return row;
}

/**
 * Where the horizon read stands: every row ordered at or before (`at`, `id`) by (next_fire_at, id)
 * has been read. `at` is the last row's next_fire_at as Postgres prints it (sub-millisecond digits
 * kept, so a page boundary never skips a row); `ms` is that instant rounded down.
 */
export interface HorizonCursor {
  at: string;
  ms: number;
  id: number;
}

/** A cursor before every row: the first page starts with the oldest (most overdue) next_fire_at. */
export const HORIZON_START: HorizonCursor = { at: '-infinity', ms: Number.NEGATIVE_INFINITY, id: 0 };

export interface HorizonPage extends LoadResult {
  /** Where the next page starts; `done` when the page reached `until` (fewer rows than asked). */
  cursor: HorizonCursor;
  done: boolean;
}

/**
 * The next page of firing rows (enabled, not paused, not quarantined) whose next_fire_at is after
 * `from` and at most `until` (epoch ms), in (next_fire_at, id) order — overdue rows first — validated
 * like a load (a bad row is quarantined, with its reason, as it is read).
 */
export async function horizonPage(
  database: Database,
  from: HorizonCursor,
  until: number,
  limit: number,
  options: StoreOptions = {},
): Promise<HorizonPage> {
  const untilText = new Date(until).toISOString();
  const page = await database.db
    .select({ row: schedules, at: sql<string>`${schedules.nextFireAt}::text` })
    .from(schedules)
    .where(
      sql`${schedules.nextFireAt} >= ${from.at}::timestamptz
          and (${schedules.nextFireAt} > ${from.at}::timestamptz or ${schedules.id} > ${from.id})
          and ${schedules.nextFireAt} <= ${untilText}::timestamptz
          and ${schedules.enabled} and ${schedules.pausedAt} is null and ${schedules.invalidReason} is null`,
    )
    .orderBy(asc(schedules.nextFireAt), asc(schedules.id))
    .limit(limit);
  const done = page.length < limit;
  const last = page[page.length - 1];
  const lastMs = last?.row.nextFireAt?.getTime() ?? Number.NaN;
  const cursor = done
    ? { at: untilText, ms: until, id: Number.MAX_SAFE_INTEGER }
    : {
        at: String(last!.at),
        ms: Number.isFinite(lastMs) ? lastMs : Number.NEGATIVE_INFINITY,
        id: last!.row.id,
      };
  const result = await settleAll(
    database,
    page.map((p) => shareStrings(p.row)),
    options,
  );
  return { ...result, cursor, done };
}

/**
 * The next page, by id after `afterId`, of rows with no next_fire_at (inserted or re-specified by
 * SQL) and, with `quarantined`, of quarantined rows: each gets its next_fire_at computed and written
 * (a bookkeeping write), is quarantined, or — valid again — is cleared. An index holds just these
 * rows (migration 0010), so this never scans the table.
 */
export async function unfilledPage(
  database: Database,
  afterId: number,
  limit: number,
  options: StoreOptions & { quarantined?: boolean } = {},
): Promise<LoadResult & { lastId: number; done: boolean }> {
  const which = options.quarantined
    ? sql`(${schedules.nextFireAt} is null or ${schedules.invalidReason} is not null)`
    : sql`(${schedules.nextFireAt} is null and ${schedules.invalidReason} is null)`;
  const page = await database.db
    .select()
    .from(schedules)
    .where(sql`${which} and ${schedules.id} > ${afterId}`)
    .orderBy(asc(schedules.id))
    .limit(limit);
  const result = await settleAll(database, page.map(shareStrings), options);
  return { ...result, lastId: page[page.length - 1]?.id ?? afterId, done: page.length < limit };
}

/** Whether a row with no next_fire_at, not quarantined, has an id after `afterId`. */
export async function hasUnfilledAfter(database: Database, afterId: number): Promise<boolean> {
  const rows = await database.rows(sql`
    select 1 from metronome.schedules
     where next_fire_at is null and invalid_reason is null and id > ${afterId} limit 1`);
  return rows.length > 0;
}

async function settleAll(
  database: Database,
  rows: ScheduleRow[],
  options: StoreOptions,
): Promise<LoadResult> {
  const result: LoadResult = { schedules: [], invalid: [] };
  if (rows.length === 0) return result;
  const now = options.now ?? (await databaseNow(database));
  for (const checked of await settle(database, rows, now, options.log ?? silentLogger)) {
    if ('reason' in checked) result.invalid.push(checked);
    else result.schedules.push(checked);
  }
  return result;
}

/** How many rows are in each state (a count in the database, not of what a leader holds). */
export async function scheduleStateCounts(database: Database): Promise<Record<ScheduleState, number>> {
  const [row] = await database.rows<Record<ScheduleState, string | number>>(sql`
    select count(*) filter (where invalid_reason is not null) as invalid,
           count(*) filter (where invalid_reason is null and paused_at is not null) as paused,
           count(*) filter (where invalid_reason is null and paused_at is null and not enabled) as disabled,
           count(*) filter (where invalid_reason is null and paused_at is null and enabled) as enabled
      from metronome.schedules`);
  return {
    enabled: Number(row?.enabled ?? 0),
    paused: Number(row?.paused ?? 0),
    disabled: Number(row?.disabled ?? 0),
    invalid: Number(row?.invalid ?? 0),
  };
}

/** The version of each of these schedules that still exists. */
export async function scheduleVersions(
  database: Database,
  ids: readonly number[],
): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (ids.length === 0) return out;
  const rows = await database.rows<{ id: string | number; version: string | number }>(
    sql`select id, version from metronome.schedules
         where id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)::bigint)`,
  );
  for (const r of rows) out.set(Number(r.id), Number(r.version));
  return out;
}

/**
 * Re-read a set of schedules in one query, validate them and write their verdicts in one
 * statement: a burst of 10,000 inserted rows is a few such batches, not 10,000 round trips. The
 * map has no entry for a row that is gone.
 */
export async function refreshSchedules(
  database: Database,
  ids: readonly number[],
  options: StoreOptions = {},
): Promise<Map<number, LoadedSchedule | InvalidSchedule>> {
  const out = new Map<number, LoadedSchedule | InvalidSchedule>();
  if (ids.length === 0) return out;
  const rows = await database.db
    .select()
    .from(schedules)
    .where(inArray(schedules.id, [...ids]));
  if (rows.length === 0) return out;
  const now = options.now ?? (await databaseNow(database));
  for (const checked of await settle(database, rows.map(shareStrings), now, options.log ?? silentLogger)) {
    out.set(checked.record.id, checked);
  }
  return out;
}

/** What a row's stored verdict should become: invalid_reason and next_fire_at. */
interface Verdict {
  id: number;
  version: number;
  invalidReason: string | null;
  nextFireAt: number | null;
  /**
   * Only the missing next_fire_at of a valid row is filled: the leader's bookkeeping, which keeps
   * the version either way. Written telling the update trigger so, which spares it comparing the
   * whole row (most of the time of a cold start's million writes).
   */
  fill: boolean;
}

type Judged = { row: ScheduleRecord; check: RecordCheck };

/**
 * Check rows and bring their stored verdicts up to date: set or clear invalid_reason, fill a
 * missing next_fire_at. Only rows whose verdict changed are written, in one statement, each guarded
 * by its `version`, so a concurrent edit is never overwritten (its own notification brings the row
 * back here) and a load of unchanged rows writes nothing.
 */
async function settle(
  database: Database,
  rows: ScheduleRecord[],
  now: number,
  log: Logger,
): Promise<(LoadedSchedule | InvalidSchedule)[]> {
  const judged = await judge(database, rows, now);
  const writes: Verdict[] = [];
  for (const { row, check } of judged) {
    if (!check.ok) {
      if (row.invalidReason !== check.reason) {
        log.warn(
          { schedule: row.name, scheduleId: row.id, reason: check.reason },
          `schedule ${JSON.stringify(row.name)} is invalid and is left out until fixed: ${check.reason}`,
        );
        writes.push({
          id: row.id,
          version: row.version,
          invalidReason: check.reason,
          nextFireAt: null,
          fill: false,
        });
      }
      continue;
    }
    const cleared = row.invalidReason !== null;
    if (cleared || row.nextFireAt === null) {
      // Never at or before the last slot fired: a slot claimed ahead of its instant is still after
      // `now`, and a done schedule (a one-off, an ended window) has no next_fire_at either.
      const next = cursorAfterChange(check.schedule, row, row.lastFireAt?.getTime() ?? null, now);
      if (cleared || next !== null) {
        writes.push({
          id: row.id,
          version: row.version,
          invalidReason: null,
          nextFireAt: next,
          fill: !cleared,
        });
      }
      if (cleared)
        log.info(
          { schedule: row.name, scheduleId: row.id },
          `schedule ${JSON.stringify(row.name)} is valid again`,
        );
    }
  }
  const written = await writeVerdicts(database, writes);
  return judged.map(({ row, check }) => {
    const update = written.get(row.id);
    const record = update ? { ...row, ...update } : row;
    if (!check.ok) return { record, reason: check.reason };
    return {
      record,
      schedule: check.schedule,
      state: scheduleState(record, null) as LoadedSchedule['state'],
      nextFireAt: record.nextFireAt ? record.nextFireAt.getTime() : null,
    };
  });
}

/**
 * Validate rows (src/model/validate.ts), and find the ones that can never fire (see
 * unfireableProblem) and have nothing in the ledger: a schedule whose slots ran, or were recorded
 * missed, is done instead.
 */
async function judge(database: Database, rows: ScheduleRecord[], now: number): Promise<Judged[]> {
  const judged: Judged[] = [];
  // The calendars these rows name, read now: a calendar's edit reaches its schedules as an edit of
  // theirs (migration 0014), and this re-read is what makes it apply.
  const names = namedCalendars(rows);
  const { lookup } = names.length > 0 ? await calendarLookup(database.db, names) : { lookup: NO_CALENDARS };
  let slice = performance.now();
  for (const row of rows) {
    judged.push({ row, check: validateRecord(row, now, lookup) });
    // A crontab that never fires takes milliseconds to judge: thousands of them must not hold the
    // event loop (the leader's lease renewal and stall detection run on it).
    if (performance.now() - slice > YIELD_AFTER_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      slice = performance.now();
    }
  }
  const suspects = new Map<number, RowProblem>();
  for (const { row, check } of judged) {
    const never = check.ok ? unfireableProblem(check.schedule, row, now) : null;
    if (never) suspects.set(row.id, never);
  }
  if (suspects.size === 0) return judged;
  const ran = await schedulesWithHistory(database, [...suspects.keys()]);
  return judged.map((j) => {
    const never = suspects.get(j.row.id);
    if (!never || ran.has(j.row.id)) return j;
    return {
      row: j.row,
      check: { ok: false, problem: never, reason: `column ${never.column}: ${never.message}` },
    };
  });
}

type Written = Pick<ScheduleRecord, 'invalidReason' | 'nextFireAt' | 'version' | 'updatedAt'>;

/**
 * Apply verdicts in one statement; returns the new column values of the rows actually written. A
 * quarantine leaves next_fire_at as it is: when that column is what is wrong, the reason stays
 * true until a person fixes it (a valid row gets its next fire computed then).
 * A row written before a CHECK constraint existed (added NOT VALID by migration 0003) refuses any
 * update until a person fixes it; then the others are written one by one and that row is left as
 * it is (the caller keeps its verdict in memory; `beat list` judges rows afresh).
 */
async function writeVerdicts(database: Database, verdicts: Verdict[]): Promise<Map<number, Written>> {
  try {
    return await updateVerdicts(database, verdicts);
  } catch (error) {
    if (!isCheckViolation(error) || verdicts.length === 0) throw error;
    const written = new Map<number, Written>();
    for (const verdict of verdicts) {
      try {
        for (const [id, w] of await updateVerdicts(database, [verdict])) written.set(id, w);
      } catch (single) {
        if (!isCheckViolation(single)) throw single;
      }
    }
    return written;
  }
}

async function updateVerdicts(database: Database, verdicts: Verdict[]): Promise<Map<number, Written>> {
  const written = new Map<number, Written>();
  if (verdicts.length === 0) return written;
  const fills = verdicts.filter((v) => v.fill);
  const others = verdicts.filter((v) => !v.fill);
  if (fills.length > 0) {
    await database.db.transaction(async (tx) => {
      await markBookkeeping(database, tx);
      await updateVerdictRows(database, fills, written, tx);
    });
  }
  if (others.length > 0) await updateVerdictRows(database, others, written);
  return written;
}

async function updateVerdictRows(
  database: Database,
  verdicts: Verdict[],
  written: Map<number, Written>,
  on?: Db,
): Promise<void> {
  const payload = JSON.stringify(
    verdicts.map((v) => ({
      id: v.id,
      version: v.version,
      invalid_reason: v.invalidReason,
      next_fire_at: v.nextFireAt === null ? null : new Date(v.nextFireAt).toISOString(),
    })),
  );
  // JSON rather than array parameters: the one form both drivers pass through unchanged.
  const rows = await database.rows<{
    id: number | string;
    version: number | string;
    invalid_reason: string | null;
    next_fire_at: string | Date | null;
    updated_at: string | Date;
  }>(
    sql`
    update metronome.schedules s
       set invalid_reason = v.invalid_reason,
           next_fire_at = case when v.invalid_reason is null then v.next_fire_at else s.next_fire_at end
      from jsonb_to_recordset(${payload}::jsonb)
           as v(id bigint, version bigint, invalid_reason text, next_fire_at timestamptz)
     where s.id = v.id and s.version = v.version
    returning s.id, s.version, s.invalid_reason, s.next_fire_at, s.updated_at`,
    on,
  );
  for (const r of rows) {
    written.set(Number(r.id), {
      version: Number(r.version),
      invalidReason: r.invalid_reason,
      nextFireAt: r.next_fire_at === null ? null : new Date(r.next_fire_at),
      updatedAt: new Date(r.updated_at),
    });
  }
}

/**
 * Where the change cursor stands now: the xmin of this statement's snapshot. Every transaction not
 * yet committed has an id at least this, so rows it changes carry `change_xid >=` it (migration
 * 0008) and `changesSince(cursor)` finds them.
 */
export async function changeCursor(database: Database): Promise<string> {
  const [row] = await database.rows<{ cursor: string }>(
    sql`select pg_snapshot_xmin(pg_current_snapshot())::text as cursor`,
  );
  return String(row?.cursor);
}

export interface ChangesSince {
  /** The cursor for the next call. */
  cursor: string;
  /** The rows changed (inserted, or edited so their version moved) since the given cursor. */
  changed: Array<{ id: number; version: number }>;
}

/**
 * The rows changed since `cursor` (see changeCursor) and the next cursor, in one statement, so both
 * come from one snapshot: an index range on change_xid, not every row.
 */
export async function changesSince(database: Database, cursor: string): Promise<ChangesSince> {
  const [row] = await database.rows<{ cursor: string; changed: string }>(sql`
    select pg_snapshot_xmin(pg_current_snapshot())::text as cursor,
           coalesce((select json_agg(json_build_array(id, version))
                       from metronome.schedules where change_xid >= ${cursor}::bigint), '[]')::text as changed`);
  const changed = JSON.parse(String(row?.changed ?? '[]')) as Array<[number | string, number | string]>;
  return {
    cursor: String(row?.cursor),
    changed: changed.map(([id, version]) => ({ id: Number(id), version: Number(version) })),
  };
}
