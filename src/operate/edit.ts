/**
 * Create, replace, patch, upsert and remove a database-owned schedule: `beat add|remove`, the
 * client (`connect()`), and the HTTP API's create/replace/patch/delete all call these.
 *
 * Each is one transaction: the row is locked, the caller's version (when given) compared, the new
 * definition validated exactly as `beat add` and `beat sync` validate it, the row written and the
 * action recorded in the audit log with the version it left — or nothing at all. A schedule
 * declared in code is refused (the next `beat sync` would undo the edit), with where to make it.
 */
import { eq } from 'drizzle-orm';
import type { Database, Db } from '../db/database.ts';
import { schedules } from '../db/schema.ts';
import { databaseNow, insertSchedule } from '../db/store.ts';
import {
  canonicalJson,
  FIELD_NAMES,
  nextFireWithin,
  type ScheduleDeclarationInput,
  type ScheduleFields,
  type ScheduleRecord,
  TIMING_FIELDS,
} from '../model/index.ts';
import type { Actor } from './actor.ts';
import { actionsSinceVersion, recordAction } from './audit.ts';
import { type CheckedDeclaration, checkDeclaration, declarationOf } from './declaration.ts';
import { codeOwnedHint } from './enable.ts';
import { InvalidScheduleError, OperationError, VersionConflictError } from './errors.ts';
import { lockSchedule, lockScheduleIfAny } from './find.ts';

/** A declaration's fields without its name (the name is the key; renaming is not an edit). */
export type SchedulePatch = Partial<Omit<ScheduleDeclarationInput, 'name'>>;

export interface EditOptions {
  /** The version the caller read: a schedule since changed is refused with a conflict. */
  ifVersion?: number | undefined;
}

export interface EditResult {
  record: ScheduleRecord;
  /** `unchanged`: the definition was already this (nothing written, nothing recorded). */
  action: 'created' | 'updated' | 'unchanged';
  /** The fields an update changed, as declarations name them (`schedule`, `kwargs`). */
  changed: string[];
}

/** Where a created schedule came from, shown by `beat show` (`source`). */
export type CreatedVia = 'beat add' | 'client' | 'api';

export async function createSchedule(
  database: Database,
  input: ScheduleDeclarationInput,
  actor: Actor,
  source: CreatedVia,
): Promise<ScheduleRecord> {
  const checked = checkDeclaration(input, Date.now());
  return inTransaction(database, async (tx) => {
    const existing = await lockScheduleIfAny(tx, checked.name);
    if (existing) throw exists(existing);
    return insertChecked(database, tx, checked, actor, source);
  });
}

/** Replace the whole definition (fields not given take their defaults, as in a declaration). */
export async function replaceSchedule(
  database: Database,
  name: string,
  input: ScheduleDeclarationInput,
  actor: Actor,
  options: EditOptions = {},
): Promise<EditResult> {
  refuseRename(name, input);
  return inTransaction(database, async (tx) => {
    const record = await lockEditable(tx, name, options.ifVersion);
    return writeChecked(database, tx, record, checkDeclaration({ ...input, name }, Date.now()), actor);
  });
}

/** Change only the fields given; the rest stay as stored. */
export async function patchSchedule(
  database: Database,
  name: string,
  patch: SchedulePatch,
  actor: Actor,
  options: EditOptions = {},
): Promise<EditResult> {
  refuseRename(name, patch as { name?: unknown });
  return inTransaction(database, async (tx) => {
    const record = await lockEditable(tx, name, options.ifVersion);
    const merged = { ...declarationOf(record), ...patch, name };
    return writeChecked(database, tx, record, checkDeclaration(merged, Date.now()), actor);
  });
}

/** Create it, or replace the definition of the database-owned schedule of that name. */
export async function upsertSchedule(
  database: Database,
  input: ScheduleDeclarationInput,
  actor: Actor,
  options: EditOptions & { source?: CreatedVia } = {},
): Promise<EditResult> {
  const checked = checkDeclaration(input, Date.now());
  return inTransaction(database, async (tx) => {
    const existing = await lockScheduleIfAny(tx, checked.name);
    if (!existing) {
      if (options.ifVersion !== undefined)
        throw new OperationError(
          'not_found',
          `no schedule named ${JSON.stringify(checked.name)} (a version was given, so it was expected to exist)`,
        );
      const record = await insertChecked(database, tx, checked, actor, options.source ?? 'client');
      return { record, action: 'created', changed: [] };
    }
    await refuseCodeOwned(existing);
    await checkVersion(tx, existing, options.ifVersion);
    return writeChecked(database, tx, existing, checked, actor);
  });
}

export interface RemoveOptions extends EditOptions {
  /** `beat remove --force` only: also delete a code-owned schedule (sync re-creates it). */
  force?: boolean;
}

/** Delete the schedule; its occurrences stay, found by name (`beat history`). */
export async function removeSchedule(
  database: Database,
  name: string,
  actor: Actor,
  options: RemoveOptions = {},
): Promise<ScheduleRecord> {
  return inTransaction(database, async (tx) => {
    const record = await lockSchedule(tx, name);
    if (record.managedBy === 'code' && !options.force) {
      throw new OperationError(
        'managed_by_code',
        `schedule ${JSON.stringify(name)} is declared in code (${record.source ?? 'schedules/*.ts'}): delete the declaration and run 'beat sync --prune'`,
      );
    }
    await checkVersion(tx, record, options.ifVersion);
    await tx.delete(schedules).where(eq(schedules.id, record.id));
    await recordAction(tx, actor, 'remove', name, {
      managedBy: record.managedBy,
      version: record.version,
      ...(options.force && record.managedBy === 'code' ? { forced: true } : {}),
    });
    return record;
  });
}

/** The row, locked, if this caller may edit it at this version. */
async function lockEditable(tx: Db, name: string, ifVersion: number | undefined): Promise<ScheduleRecord> {
  const record = await lockSchedule(tx, name);
  await refuseCodeOwned(record);
  await checkVersion(tx, record, ifVersion);
  return record;
}

async function refuseCodeOwned(record: ScheduleRecord): Promise<void> {
  if (record.managedBy === 'code') {
    throw new OperationError(
      'managed_by_code',
      `schedule ${JSON.stringify(record.name)} is ${codeOwnedHint(record)}; only database-owned schedules are edited here`,
    );
  }
}

/** Refuse when the version moved since the caller read it, naming the actions that moved it. */
async function checkVersion(tx: Db, record: ScheduleRecord, expected: number | undefined): Promise<void> {
  if (expected === undefined || expected === record.version) return;
  const changes = expected < record.version ? await actionsSinceVersion(tx, record.name, expected) : [];
  throw new VersionConflictError(record.name, expected, record.version, changes);
}

function refuseRename(name: string, input: { name?: unknown }): void {
  if (input.name !== undefined && input.name !== name) {
    throw new InvalidScheduleError(name, [
      {
        field: 'name',
        reason: `is ${JSON.stringify(input.name)}, but this is ${JSON.stringify(name)}: a schedule keeps its name (create the new one and remove the old)`,
      },
    ]);
  }
}

function exists(record: ScheduleRecord): OperationError {
  return new OperationError(
    'exists',
    `a schedule named ${JSON.stringify(record.name)} already exists (managed by ${record.managedBy}${record.source ? `, ${record.source}` : ''}); pick another name, or update or remove it`,
  );
}

async function insertChecked(
  database: Database,
  tx: Db,
  checked: CheckedDeclaration,
  actor: Actor,
  source: CreatedVia,
): Promise<ScheduleRecord> {
  const now = await databaseNow(database, tx);
  const next = nextFireWithin(checked.schedule, { ...checked.fields, totalRuns: 0 }, now);
  const record = await insertSchedule(tx, checked.name, checked.fields, { managedBy: 'db', source }, next);
  await recordAction(tx, actor, 'create', checked.name, { version: record.version, source });
  return record;
}

/** The declaration fields (`schedule` for the spec columns) whose stored value differs. */
export function changedFields(record: ScheduleRecord, fields: ScheduleFields): string[] {
  const changed = new Set<string>();
  for (const field of FIELD_NAMES) {
    if (!same(record[field as keyof ScheduleRecord], fields[field])) changed.add(declarationName(field));
  }
  return [...changed];
}

const SPEC_FIELDS = new Set<string>([
  'kind',
  'cron',
  'cronFields',
  'timezone',
  'everyMs',
  'anchorAt',
  'solarEvent',
  'latitude',
  'longitude',
  'runAt',
]);
const RENAMED: Record<string, string> = {
  expiresMs: 'expires',
  timeLimitS: 'timeLimit',
  softTimeLimitS: 'softTimeLimit',
  catchupWindowMs: 'catchupWindow',
  jitterMs: 'jitter',
  runLeaseMs: 'runLease',
};
const declarationName = (field: string) => (SPEC_FIELDS.has(field) ? 'schedule' : (RENAMED[field] ?? field));

function same(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  }
  if (typeof a === 'object' || typeof b === 'object') return canonicalJson(a) === canonicalJson(b);
  return a === b;
}

/**
 * Whether a write must compute the next fire afresh (from now), as `beat sync` does: the timing
 * changed, the schedule was switched back on (its time off is not a backlog), or it had none.
 */
export function needsNewNextFire(record: ScheduleRecord, fields: ScheduleFields): boolean {
  return (
    FIELD_NAMES.some((f) => TIMING_FIELDS.has(f) && !same(record[f as keyof ScheduleRecord], fields[f])) ||
    record.enabled !== fields.enabled ||
    record.nextFireAt === null ||
    record.invalidReason !== null
  );
}

async function writeChecked(
  database: Database,
  tx: Db,
  record: ScheduleRecord,
  checked: CheckedDeclaration,
  actor: Actor,
): Promise<EditResult> {
  const changed = changedFields(record, checked.fields);
  if (changed.length === 0 && record.invalidReason === null) return { record, action: 'unchanged', changed };
  const next = needsNewNextFire(record, checked.fields)
    ? nextFireWithin(
        checked.schedule,
        { ...checked.fields, totalRuns: record.totalRuns },
        await databaseNow(database, tx),
      )
    : undefined;
  const [row] = await tx
    .update(schedules)
    .set({
      ...checked.fields,
      invalidReason: null,
      ...(next === undefined ? {} : { nextFireAt: next === null ? null : new Date(next) }),
    })
    .where(eq(schedules.id, record.id))
    .returning();
  await recordAction(tx, actor, 'update', record.name, { version: row!.version, changed });
  return { record: row!, action: 'updated', changed };
}

/** A concurrent create of the same name loses on the unique index: report it as `exists`. */
async function inTransaction<T>(database: Database, fn: (tx: Db) => Promise<T>): Promise<T> {
  try {
    return await database.db.transaction(fn);
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown; constraint_name?: unknown } }).cause;
    if (cause?.code === '23505' && String(cause.constraint_name ?? '').includes('name')) {
      throw new OperationError(
        'exists',
        'a schedule of that name was created at the same moment; read it and update it instead',
      );
    }
    throw error;
  }
}
