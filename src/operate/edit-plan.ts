/**
 * What a write to one database-owned schedule would do, decided under the row's lock and before
 * anything is written: the row as stored and the checked definition after, or the refusal the
 * write would get (unknown, declared in code, exists, a moved version, invalid). The writes of
 * edit.ts act on these decisions; {@link planEdit} makes one and writes nothing, so a preview
 * (`?preview=true`, `beat edit --preview`) is refused exactly as the write would be.
 */
import type { Database, Db } from '../db/database.ts';
import { actionsSinceVersion } from '../db/sql/audit.ts';
import { lockScheduleIfAny } from '../db/sql/schedules.ts';
import { databaseNow } from '../db/store.ts';
import type { ScheduleDeclarationInput, ScheduleRecord } from '../model/index.ts';
import { type CheckedDeclaration, checkDeclaration, declarationOf } from './declaration.ts';
import { codeOwnedHint } from './enable.ts';
import { InvalidScheduleError, OperationError, VersionConflictError } from './errors.ts';
import { lockSchedule } from './find.ts';

/** A declaration's fields without its name (the name is the key; renaming is not an edit). */
export type SchedulePatch = Partial<Omit<ScheduleDeclarationInput, 'name'>>;

export interface EditOptions {
  /** The version the caller read: a schedule since changed is refused with a conflict. */
  ifVersion?: number | undefined;
}

/** A write decided: the row it changes (null: it creates one) and the definition after (null: it deletes). */
export interface EditDecision {
  name: string;
  record: ScheduleRecord | null;
  checked: CheckedDeclaration | null;
}

/** A decision taken inside the write's transaction. */
export type Decide = (tx: Db) => Promise<EditDecision>;

/** Create: refused when the name exists. */
export function decideCreate(input: ScheduleDeclarationInput): Decide {
  const checked = checkDeclaration(input, Date.now());
  return async (tx) => {
    const existing = await lockScheduleIfAny(tx, checked.name);
    if (existing) throw exists(existing);
    return { name: checked.name, record: null, checked };
  };
}

/** Replace the whole definition (fields not given take their defaults, as in a declaration). */
export function decideReplace(
  name: string,
  input: ScheduleDeclarationInput,
  options: EditOptions = {},
): Decide {
  refuseRename(name, input);
  return async (tx) => {
    const record = await lockEditable(tx, name, options.ifVersion);
    return { name, record, checked: checkDeclaration({ ...input, name }, Date.now()) };
  };
}

/** Change only the fields given; the rest stay as stored. */
export function decidePatch(name: string, patch: SchedulePatch, options: EditOptions = {}): Decide {
  refuseRename(name, patch as { name?: unknown });
  return async (tx) => {
    const record = await lockEditable(tx, name, options.ifVersion);
    const merged = { ...declarationOf(record), ...patch, name };
    return { name, record, checked: checkDeclaration(merged, Date.now()) };
  };
}

/** Create it, or replace the definition of the database-owned schedule of that name. */
export function decideUpsert(input: ScheduleDeclarationInput, options: EditOptions = {}): Decide {
  const checked = checkDeclaration(input, Date.now());
  return async (tx) => {
    const existing = await lockScheduleIfAny(tx, checked.name);
    if (!existing) {
      if (options.ifVersion !== undefined)
        throw new OperationError(
          'not_found',
          `no schedule named ${JSON.stringify(checked.name)} (a version was given, so it was expected to exist)`,
        );
      return { name: checked.name, record: null, checked };
    }
    refuseCodeOwned(existing);
    await checkVersion(tx, existing, options.ifVersion);
    return { name: checked.name, record: existing, checked };
  };
}

/** Delete: a code-owned schedule only when `force` (`beat remove --force`; sync re-creates it). */
export function decideRemove(name: string, options: EditOptions & { force?: boolean } = {}): Decide {
  return async (tx) => {
    const record = await lockSchedule(tx, name);
    if (record.managedBy === 'code' && !options.force) {
      throw new OperationError(
        'managed_by_code',
        `schedule ${JSON.stringify(name)} is declared in code (${record.source ?? 'schedules/*.ts'}): delete the declaration and run 'beat sync --prune'`,
      );
    }
    await checkVersion(tx, record, options.ifVersion);
    return { name, record, checked: null };
  };
}

/**
 * The decision a write would take now, and the database's clock when it was taken: one transaction
 * that locks and reads, and writes nothing.
 */
export async function planEdit(database: Database, decide: Decide): Promise<EditDecision & { now: number }> {
  return database.db.transaction(async (tx) => {
    const decision = await decide(tx);
    return { ...decision, now: await databaseNow(database, tx) };
  });
}

/** The row, locked, if this caller may edit it at this version. */
async function lockEditable(tx: Db, name: string, ifVersion: number | undefined): Promise<ScheduleRecord> {
  const record = await lockSchedule(tx, name);
  refuseCodeOwned(record);
  await checkVersion(tx, record, ifVersion);
  return record;
}

function refuseCodeOwned(record: ScheduleRecord): void {
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
