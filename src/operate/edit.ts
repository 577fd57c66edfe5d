/**
 * Create, replace, patch, upsert and remove a database-owned schedule: `beat add|remove`, the
 * client (`connect()`), and the HTTP API's create/replace/patch/delete all call these.
 *
 * Each is one transaction: the row is locked, the caller's version (when given) compared, the new
 * definition validated exactly as `beat add` and `beat sync` validate it, the row written and the
 * action recorded in the audit log with the version it left — or nothing at all. A schedule
 * declared in code is refused (the next `beat sync` would undo the edit), with where to make it.
 * What to do is decided by edit-plan.ts (the same decision a preview takes, writing nothing); here
 * it is acted on.
 */
import type { Database, Db } from '../db/database.ts';
import { recordAction } from '../db/sql/audit.ts';
import { deleteSchedule, insertSchedule, writeDefinition } from '../db/sql/schedules.ts';
import { databaseNow } from '../db/store.ts';
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
import { type CheckedDeclaration, withStoredCalendars } from './declaration.ts';
import {
  type Decide,
  decideCreate,
  decidePatch,
  decideRemove,
  decideReplace,
  decideUpsert,
  type EditDecision,
  type EditOptions,
  type SchedulePatch,
} from './edit-plan.ts';
import { OperationError } from './errors.ts';

export type { EditOptions, SchedulePatch } from './edit-plan.ts';

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
  const decide = decideCreate(input);
  return inTransaction(database, async (tx) => {
    const { checked } = await decide(tx);
    return insertChecked(database, tx, checked!, actor, source);
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
  return applyEdit(database, decideReplace(name, input, options), actor, 'client');
}

/** Change only the fields given; the rest stay as stored. */
export async function patchSchedule(
  database: Database,
  name: string,
  patch: SchedulePatch,
  actor: Actor,
  options: EditOptions = {},
): Promise<EditResult> {
  return applyEdit(database, decidePatch(name, patch, options), actor, 'client');
}

/** Create it, or replace the definition of the database-owned schedule of that name. */
export async function upsertSchedule(
  database: Database,
  input: ScheduleDeclarationInput,
  actor: Actor,
  options: EditOptions & { source?: CreatedVia } = {},
): Promise<EditResult> {
  return applyEdit(database, decideUpsert(input, options), actor, options.source ?? 'client');
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
  const decide = decideRemove(name, options);
  return inTransaction(database, async (tx) => {
    const record = (await decide(tx)).record!;
    await deleteSchedule(tx, record.id);
    await recordAction(tx, actor, 'remove', name, {
      managedBy: record.managedBy,
      version: record.version,
      ...(options.force && record.managedBy === 'code' ? { forced: true } : {}),
    });
    return record;
  });
}

/** Create or update as decided (never a delete: remove has its own audit detail). */
async function applyEdit(
  database: Database,
  decide: Decide,
  actor: Actor,
  source: CreatedVia,
): Promise<EditResult> {
  return inTransaction(database, async (tx) => {
    const { record, checked } = await decide(tx);
    if (!record) {
      return {
        record: await insertChecked(database, tx, checked!, actor, source),
        action: 'created',
        changed: [],
      };
    }
    return writeChecked(database, tx, record, checked!, actor);
  });
}

async function insertChecked(
  database: Database,
  tx: Db,
  checked: CheckedDeclaration,
  actor: Actor,
  source: CreatedVia,
): Promise<ScheduleRecord> {
  const now = await databaseNow(database, tx);
  const { schedule } = await withStoredCalendars(tx, checked, now);
  const next = nextFireWithin(schedule, { ...checked.fields, totalRuns: 0 }, now);
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
  'dstPolicy',
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
  startDeadlineMs: 'startDeadline',
  finishDeadlineMs: 'finishDeadline',
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

/** What a decided write does: its action, and the fields an update changes. */
export function outcomeOf(decision: EditDecision): {
  action: EditResult['action'] | 'deleted';
  changed: string[];
} {
  const { record, checked } = decision;
  if (!record) return { action: 'created', changed: [] };
  if (!checked) return { action: 'deleted', changed: [] };
  const changed = changedFields(record, checked.fields);
  // A quarantined row is written again even when its fields are the same: that clears the quarantine.
  return { action: changed.length === 0 && record.invalidReason === null ? 'unchanged' : 'updated', changed };
}

async function writeChecked(
  database: Database,
  tx: Db,
  record: ScheduleRecord,
  checked: CheckedDeclaration,
  actor: Actor,
): Promise<EditResult> {
  const { action, changed } = outcomeOf({ name: record.name, record, checked });
  if (action === 'unchanged') return { record, action, changed };
  const now = await databaseNow(database, tx);
  const { schedule } = await withStoredCalendars(tx, checked, now);
  const next = needsNewNextFire(record, checked.fields)
    ? nextFireWithin(schedule, { ...checked.fields, totalRuns: record.totalRuns }, now)
    : undefined;
  const row = await writeDefinition(tx, record.id, checked.fields, next);
  await recordAction(tx, actor, 'update', record.name, { version: row.version, changed });
  return { record: row, action: 'updated', changed };
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
