/**
 * `sync`: make the code-owned rows of `metronome.schedules` match the declarations.
 *
 * 1. Every declaration is validated first; any problem anywhere → nothing is written.
 * 2. Under a transaction-scoped advisory lock (two syncs at once queue up rather than race on the
 *    same names), the rows are read and a plan made: create / update (with the changed fields) /
 *    unchanged / prune (with --prune) / orphan (code-owned, no longer declared, kept).
 * 3. The whole plan is applied in that one transaction, or — with `dryRun` — not at all. Each
 *    schedule it writes leaves a `sync` record in the audit log, in the same transaction.
 *
 * Rows created in the database (`managed_by = 'db'`) are never touched; declaring one of their
 * names is an error. A code-owned row edited with SQL shows up as an update (drift) and is restored.
 * `paused_at` / `paused_reason` belong to operators and are never changed by sync.
 */
import { sql } from 'drizzle-orm';
import type { Database, Db } from '../db/database.ts';
import { LOCK_KEYS } from '../db/migrate.ts';
import { type Actor, type BulkAuditEntry, recordActions, type WriteChange } from '../db/sql/audit.ts';
import { readCalendars } from '../db/sql/calendars.ts';
import { allSchedules, deleteSchedule, insertSchedule, writeDefinition } from '../db/sql/schedules.ts';
import { databaseNow } from '../db/store.ts';
import {
  canonicalJson,
  declarationField,
  FIELD_NAMES,
  neverFiresProblem,
  nextFireWithin,
  parseDeclaration,
  type ScheduleFields,
  type ScheduleRecord,
  TIMING_FIELDS,
  validateFields,
} from '../model/index.ts';
import { ANY_CALENDAR } from '../model/validate.ts';
import type { CalendarLookup } from '../time/index.ts';
import type { FoundCalendar, FoundDeclaration, SyncProblem } from './load.ts';
import {
  applyCalendarPlan,
  type CalendarPlanEntry,
  planCalendars,
  syncLookup,
  type ValidCalendar,
  validateCalendarDeclarations,
} from './sync-calendars.ts';

export interface FieldChange {
  /** The column, as operators see it in SQL (`every_ms`, `kwargs`). */
  field: string;
  from: unknown;
  to: unknown;
}

export type PlanEntry =
  | { action: 'create'; name: string; file: string }
  | { action: 'update'; name: string; file: string; changes: FieldChange[] }
  | { action: 'unchanged'; name: string; file: string }
  | { action: 'prune'; name: string; file: string | null }
  | { action: 'orphan'; name: string; file: string | null };

export interface SyncResult {
  dryRun: boolean;
  plan: PlanEntry[];
  /** The calendars declared with defineCalendar: created, updated, unchanged, pruned, orphaned. */
  calendars: CalendarPlanEntry[];
}

export class SyncProblemsError extends Error {
  constructor(readonly problems: SyncProblem[]) {
    super(`${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was written`);
  }
}

export interface ValidDeclaration {
  name: string;
  file: string;
  fields: ScheduleFields;
}

/**
 * Step 1: validate every declaration (schedules and calendars); returns the valid ones and every
 * problem found. A calendar a schedule names is checked here when it is declared beside it; any
 * other name is checked against the stored calendars when the plan is made.
 */
export function validateDeclarations(
  found: FoundDeclaration[],
  now: number,
  foundCalendars: readonly FoundCalendar[] = [],
): { valid: ValidDeclaration[]; calendars: ValidCalendar[]; problems: SyncProblem[] } {
  const valid: ValidDeclaration[] = [];
  const { valid: calendars, problems } = validateCalendarDeclarations(foundCalendars);
  const declared = new Map(calendars.map((c) => [c.name, c.calendar]));
  const lookup: CalendarLookup = (name) => declared.get(name) ?? ANY_CALENDAR(name);
  for (const { file, declaration } of found) {
    const result = parseDeclaration(declaration, now, lookup);
    if (result.ok) valid.push({ name: result.name, file, fields: result.fields });
    else {
      for (const p of result.problems) {
        problems.push({ file, schedule: result.name ?? '(unnamed)', field: p.field, reason: p.reason });
      }
    }
  }
  return { valid, calendars, problems };
}

const snake = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function same(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  }
  if (typeof a === 'object' || typeof b === 'object') return canonicalJson(a) === canonicalJson(b);
  return a === b;
}

function display(value: unknown): unknown {
  return value instanceof Date ? value.toISOString() : value;
}

/** The differences between a stored code-owned row and its declaration. */
export function diffRow(row: ScheduleRecord, wanted: ValidDeclaration): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const field of FIELD_NAMES) {
    const from = row[field as keyof ScheduleRecord];
    const to = wanted.fields[field];
    if (!same(from, to)) changes.push({ field: snake(field), from: display(from), to: display(to) });
  }
  if (row.source !== wanted.file) changes.push({ field: 'source', from: row.source, to: wanted.file });
  if (row.invalidReason !== null)
    changes.push({ field: 'invalid_reason', from: row.invalidReason, to: null });
  return changes;
}

/**
 * Step 2: the plan against the current rows. Problems: a collision with a database-owned row, and
 * a schedule created or re-timed so that it can never fire (a one-off in the past, a window that
 * has ended), judged at `now`. A declared one-off that already ran is unchanged, not a problem.
 */
export function planSync(
  rows: ScheduleRecord[],
  declarations: ValidDeclaration[],
  prune: boolean,
  now: number,
  /** Where the calendars the declarations name are found; default: any name (an offline plan). */
  calendars: CalendarLookup = ANY_CALENDAR,
): { plan: PlanEntry[]; problems: SyncProblem[] } {
  const byName = new Map(rows.map((r) => [r.name, r]));
  const declared = new Set(declarations.map((d) => d.name));
  const plan: PlanEntry[] = [];
  const problems: SyncProblem[] = [];
  for (const d of declarations) {
    const row = byName.get(d.name);
    if (!row) {
      const never = neverFires(d, now, calendars);
      if (never) problems.push(never);
      else plan.push({ action: 'create', name: d.name, file: d.file });
    } else if (row.managedBy !== 'code') {
      problems.push({
        file: d.file,
        schedule: d.name,
        field: 'name',
        reason: `a schedule with this name already exists in the database and is managed there (managed_by = '${row.managedBy}', created with beat add or SQL); sync never touches it. Rename the declaration, or remove the row first (beat remove "${d.name}")`,
      });
    } else {
      const changes = diffRow(row, d);
      const retimed = changes.some((c) => TIMING_FIELDS.has(camel(c.field) as keyof ScheduleFields));
      // A calendar's name is checked whatever changed: the calendar may be gone since.
      const never = retimed || d.fields.calendars.length > 0 ? neverFires(d, now, calendars) : null;
      if (never) {
        problems.push(never);
        continue;
      }
      plan.push(
        changes.length === 0
          ? { action: 'unchanged', name: d.name, file: d.file }
          : { action: 'update', name: d.name, file: d.file, changes },
      );
    }
  }
  for (const row of rows) {
    if (row.managedBy === 'code' && !declared.has(row.name)) {
      plan.push({ action: prune ? 'prune' : 'orphan', name: row.name, file: row.source });
    }
  }
  return { plan, problems };
}

/** The problem of a declaration that could never fire from `now` on, or null. */
function neverFires(d: ValidDeclaration, now: number, calendars: CalendarLookup): SyncProblem | null {
  const check = validateFields({ ...d.fields, name: d.name }, now, calendars);
  if (!check.ok)
    return {
      file: d.file,
      schedule: d.name,
      field: declarationField(check.problem.column),
      reason: check.problem.message,
    };
  const never = neverFiresProblem(check.schedule, d.fields, now);
  return never
    ? { file: d.file, schedule: d.name, field: declarationField(never.column), reason: never.message }
    : null;
}

function nextFor(
  name: string,
  fields: ScheduleFields,
  totalRuns: number,
  now: number,
  calendars: CalendarLookup,
): number | null {
  const check = validateFields({ ...fields, name }, now, calendars);
  // Declarations were validated a moment ago; a failure here would be a bug, not user input.
  if (!check.ok) throw new Error(`declaration "${name}" became invalid: ${check.reason}`);
  return nextFireWithin(check.schedule, { ...fields, totalRuns }, now);
}

/**
 * Step 3: apply a plan inside the caller's transaction, and record each schedule written in the
 * audit log (one `sync` record each, written together, in the same transaction).
 */
async function applyPlan(
  database: Database,
  tx: Db,
  plan: PlanEntry[],
  rows: Map<string, ScheduleRecord>,
  wanted: Map<string, ValidDeclaration>,
  now: number,
  actor: Actor,
  calendars: CalendarLookup,
): Promise<void> {
  const audit: BulkAuditEntry[] = [];
  for (const entry of plan) {
    const written = await applyEntry(tx, entry, rows.get(entry.name), wanted.get(entry.name), now, calendars);
    if (written) audit.push({ name: entry.name, action: 'sync', detail: { ...written, file: entry.file } });
  }
  await recordActions(database, tx, actor, audit);
}

/** Write one entry of the plan; what it did to the row, for the audit log (null: nothing). */
async function applyEntry(
  tx: Db,
  entry: PlanEntry,
  row: ScheduleRecord | undefined,
  d: ValidDeclaration | undefined,
  now: number,
  calendars: CalendarLookup,
): Promise<{ change: WriteChange; version: number; changed?: string[] } | null> {
  if (entry.action === 'create' && d) {
    const created = await insertSchedule(
      tx,
      d.name,
      d.fields,
      { managedBy: 'code', source: d.file },
      nextFor(d.name, d.fields, 0, now, calendars),
    );
    return { change: 'create', version: created.version };
  }
  if (entry.action === 'update' && row && d) {
    // Re-enabling counts too: the stored next fire is from before the schedule was switched off,
    // and the time it was off must not look like missed fires to catch up.
    const timingChanged = entry.changes.some(
      (c) => TIMING_FIELDS.has(camel(c.field) as keyof ScheduleFields) || c.field === 'enabled',
    );
    const recompute = timingChanged || row.nextFireAt === null || row.invalidReason !== null;
    const next = recompute ? nextFor(d.name, d.fields, row.totalRuns, now, calendars) : undefined;
    const { version } = await writeDefinition(tx, row.id, d.fields, next, d.file);
    return { change: 'update', version, changed: entry.changes.map((c) => c.field) };
  }
  if (entry.action === 'prune' && row) {
    // Occurrences have no foreign key: the pruned schedule's history stays, found by name.
    await deleteSchedule(tx, row.id);
    return { change: 'remove', version: row.version };
  }
  return null;
}

const camel = (column: string) => column.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

export interface SyncOptions {
  prune?: boolean;
  dryRun?: boolean;
  /** Who the audit log names (the CLI's: this process's user@host, src/operate/actor.ts). */
  actor: Actor;
  /**
   * The calendars declared with defineCalendar (validateDeclarations). Undefined: calendars are
   * left as they are (not even pruned).
   */
  calendars?: ValidCalendar[];
}

/**
 * Plan and (unless dry-run) apply. Throws {@link SyncProblemsError} when a declaration collides
 * with a database-owned row; nothing is written then.
 */
export async function syncDeclarations(
  database: Database,
  declarations: ValidDeclaration[],
  options: SyncOptions,
): Promise<SyncResult> {
  const prune = options.prune ?? false;
  const dryRun = options.dryRun ?? false;
  const wanted = new Map(declarations.map((d) => [d.name, d]));
  return database.db.transaction(async (tx) => {
    // Held until commit: a second sync waits here, then plans against what the first one wrote.
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_KEYS.sync})`);
    const rows = await allSchedules(tx);
    const now = await databaseNow(database, tx);
    const stored = await readCalendars(tx);
    const declaredCalendars = options.calendars;
    // Schedules that stay after this sync, and the calendars they name (a pruned calendar must not be one).
    const staying = rows.filter((r) => !(prune && r.managedBy === 'code' && !wanted.has(r.name)));
    const usedBy = (name: string) => [
      ...new Set([
        ...staying.filter((r) => !wanted.has(r.name) && r.calendars.includes(name)).map((r) => r.name),
        ...declarations.filter((d) => d.fields.calendars.includes(name)).map((d) => d.name),
      ]),
    ];
    const calendarPlan = declaredCalendars
      ? planCalendars(stored, declaredCalendars, prune, usedBy)
      : { plan: [], problems: [] };
    const pruned = new Set(calendarPlan.plan.filter((c) => c.action === 'prune').map((c) => c.name));
    const lookup = syncLookup(declaredCalendars ?? [], stored, pruned);
    const { plan, problems } = planSync(rows, declarations, prune, now, lookup);
    const all = [...calendarPlan.problems, ...problems];
    if (all.length > 0) throw new SyncProblemsError(all);
    if (!dryRun) {
      await applyCalendarPlan(tx, calendarPlan.plan, declaredCalendars ?? []);
      const byName = new Map(rows.map((r) => [r.name, r]));
      await applyPlan(database, tx, plan, byName, wanted, now, options.actor, lookup);
    }
    return { dryRun, plan, calendars: calendarPlan.plan };
  });
}
