/**
 * Upsert many database-owned schedules in one call: the case of one schedule per customer.
 *
 * The items are written in batches, each batch one transaction — all of it or none of it. Every
 * item is validated exactly as `beat add` validates (src/operate/declaration.ts); an item that is
 * invalid, names a schedule declared in code, repeats a name of the call, or carries a version
 * that has moved is reported by its index and name, and its batch is not written (the others are).
 * Sending the same call again is safe: what was written is found unchanged and left alone.
 *
 * A batch is three statements (src/db/sql/schedules-bulk.ts, audit.ts): the existing rows locked (`FOR UPDATE`),
 * one `INSERT ... ON CONFLICT (name) DO UPDATE` of the new and changed ones, and their audit records.
 * The next batch is validated while the previous ones are in the database, and on Postgres two batches
 * are written at once.
 */
import type { Database } from '../db/database.ts';
import { type BulkAuditEntry, recordActions } from '../db/sql/audit.ts';
import { type BulkRow, lockByNames, upsertRows } from '../db/sql/schedules-bulk.ts';
import { databaseNow } from '../db/store.ts';
import { nextFireWithin, type ScheduleDeclarationInput, type ScheduleRecord } from '../model/index.ts';
import type { Actor } from './actor.ts';
import { type CheckedDeclaration, checkDeclarationInput, withStoredCalendars } from './declaration.ts';
import { type CreatedVia, changedFields, needsNewNextFire } from './edit.ts';
import { InvalidScheduleError } from './errors.ts';

/** One item: a declaration, with the version it was read at when it must not have moved. */
export type BulkItem = ScheduleDeclarationInput & { version?: number };

export interface BulkOptions {
  /** Items per transaction: default 1000, at most 1500 (Postgres's parameter limit per statement). */
  batchSize?: number;
  /** Where created schedules came from (`source`). */
  source?: CreatedVia;
}

export interface BulkItemError {
  /** The item's position in the call, from 0. */
  index: number;
  name: string | undefined;
  code: 'invalid' | 'managed_by_code' | 'conflict' | 'duplicate';
  /** The declaration field at fault (`schedule.cron`, `priority`), for `invalid`. */
  field: string | null;
  reason: string;
}

export interface BulkBatch {
  /** Index of the batch's first item, and how many it holds. */
  first: number;
  count: number;
  written: boolean;
}

export interface BulkResult {
  created: number;
  updated: number;
  unchanged: number;
  /** Items in batches that were not written because another item of the batch was refused. */
  notWritten: number;
  errors: BulkItemError[];
  batches: BulkBatch[];
}

const MAX_BATCH = 1500;

interface ValidItem {
  index: number;
  checked: CheckedDeclaration;
  version: number | undefined;
}

export async function upsertMany(
  database: Database,
  items: readonly BulkItem[],
  actor: Actor,
  options: BulkOptions = {},
): Promise<BulkResult> {
  const size = Math.min(Math.max(1, Math.floor(options.batchSize ?? 1000)), MAX_BATCH);
  const result: BulkResult = { created: 0, updated: 0, unchanged: 0, notWritten: 0, errors: [], batches: [] };
  const seen = new Map<string, number>();
  const source = options.source ?? 'client';
  const inFlight = new Set<Promise<void>>();
  try {
    await writeAll(database, items, actor, { size, source, seen, result, inFlight });
  } catch (error) {
    // Let the batch still in the database finish before reporting: nothing runs after the call.
    await Promise.allSettled(inFlight);
    throw error;
  }
  result.errors.sort((a, b) => a.index - b.index);
  return result;
}

async function writeAll(
  database: Database,
  items: readonly BulkItem[],
  actor: Actor,
  call: {
    size: number;
    source: CreatedVia;
    seen: Map<string, number>;
    result: BulkResult;
    inFlight: Set<Promise<void>>;
  },
): Promise<void> {
  const { size, source, seen, result, inFlight } = call;
  for (let first = 0; first < items.length; first += size) {
    // Validated while the batches before it are in the database.
    const batch = validateBatch(items, first, size, seen);
    const count = Math.min(size, items.length - first);
    const entry: BulkBatch = { first, count, written: false };
    result.batches.push(entry);
    if (batch.errors.length > 0) {
      refuseBatch(result, entry, batch.errors);
      continue;
    }
    const writing = writeBatch(database, batch.valid, actor, source).then((outcome) => {
      if ('created' in outcome) acceptBatch(result, entry, outcome);
      else refuseBatch(result, entry, outcome.errors);
    });
    const tracked = writing.finally(() => inFlight.delete(tracked));
    tracked.catch(() => {}); // handled by the race or the final wait below
    inFlight.add(tracked);
    if (inFlight.size >= batchesInFlight(database)) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

/**
 * Batches written at once: two on Postgres, whose second backend writes while the first commits
 * (the call's names are distinct, so the batches never wait on each other's rows); one on PGlite,
 * a single connection.
 */
function batchesInFlight(database: Database): number {
  return database.kind === 'postgres' ? 2 : 1;
}

function acceptBatch(
  result: BulkResult,
  entry: BulkBatch,
  outcome: { created: number; updated: number; unchanged: number },
): void {
  result.created += outcome.created;
  result.updated += outcome.updated;
  result.unchanged += outcome.unchanged;
  entry.written = true;
}

function refuseBatch(result: BulkResult, entry: BulkBatch, errors: BulkItemError[]): void {
  result.errors.push(...errors);
  result.notWritten += entry.count - errors.length;
}

function validateBatch(
  items: readonly BulkItem[],
  first: number,
  size: number,
  seen: Map<string, number>,
): { valid: ValidItem[]; errors: BulkItemError[] } {
  const valid: ValidItem[] = [];
  const errors: BulkItemError[] = [];
  const now = Date.now();
  for (let index = first; index < Math.min(first + size, items.length); index++) {
    const item = items[index];
    const { version, ...input } = (item ?? {}) as BulkItem;
    const check = checkDeclarationInput(input, now);
    if (!check.ok) {
      for (const p of check.problems) {
        errors.push({ index, name: check.name, code: 'invalid', field: p.field, reason: p.reason });
      }
      continue;
    }
    const earlier = seen.get(check.value.name);
    if (earlier !== undefined) {
      errors.push({
        index,
        name: check.value.name,
        code: 'duplicate',
        field: 'name',
        reason: `is also item ${earlier} of this call: give each schedule once`,
      });
      continue;
    }
    seen.set(check.value.name, index);
    valid.push({ index, checked: check.value, version });
  }
  return { valid, errors };
}

class BatchRefused extends Error {
  constructor(readonly errors: BulkItemError[]) {
    super('batch refused');
  }
}

async function writeBatch(
  database: Database,
  items: ValidItem[],
  actor: Actor,
  source: CreatedVia,
): Promise<{ created: number; updated: number; unchanged: number } | { errors: BulkItemError[] }> {
  try {
    return await database.db.transaction(async (tx) => {
      const locked = await lockByNames(
        tx,
        items.map((i) => i.checked.name),
      );
      const existing = new Map(locked.map((row) => [row.name, row]));
      const refused = refusals(items, existing);
      if (refused.length > 0) throw new BatchRefused(refused);
      const now = await databaseNow(database, tx);
      const rows: BulkRow[] = [];
      const audit: BulkAuditEntry[] = [];
      let unchanged = 0;
      const missing: BulkItemError[] = [];
      for (const item of items) {
        try {
          item.checked = await withStoredCalendars(tx, item.checked, now);
        } catch (error) {
          if (!(error instanceof InvalidScheduleError)) throw error;
          const [problem] = error.problems;
          missing.push({
            index: item.index,
            name: item.checked.name,
            code: 'invalid',
            field: problem?.field ?? null,
            reason: problem?.reason ?? error.message,
          });
        }
      }
      if (missing.length > 0) throw new BatchRefused(missing);
      for (const { checked } of items) {
        const row = existing.get(checked.name);
        const changed = row ? changedFields(row, checked.fields) : null;
        if (row && changed!.length === 0 && row.invalidReason === null) {
          unchanged++;
          continue;
        }
        const next =
          row && !needsNewNextFire(row, checked.fields)
            ? row.nextFireAt
            : nextDate(checked, row?.totalRuns ?? 0, now);
        rows.push({
          name: checked.name,
          ...checked.fields,
          managedBy: 'db',
          source: 'client',
          nextFireAt: next,
        });
        audit.push({
          name: checked.name,
          action: row ? 'update' : 'create',
          detail: row ? { bulk: true, changed: changed ?? [] } : { bulk: true, source },
        });
      }
      const versions = await upsertRows(database, tx, rows);
      for (const entry of audit) entry.detail.version = versions.get(entry.name) ?? null;
      await recordActions(database, tx, actor, audit);
      const created = audit.filter((a) => a.action === 'create').length;
      return { created, updated: audit.length - created, unchanged };
    });
  } catch (error) {
    if (error instanceof BatchRefused) return { errors: error.errors };
    throw error;
  }
}

/** Items this batch may not write: code-owned names, moved versions, a version for a new name. */
function refusals(items: ValidItem[], existing: Map<string, ScheduleRecord>): BulkItemError[] {
  const errors: BulkItemError[] = [];
  for (const { index, checked, version } of items) {
    const row = existing.get(checked.name);
    const refuse = (code: BulkItemError['code'], reason: string) =>
      errors.push({ index, name: checked.name, code, field: null, reason });
    if (row?.managedBy === 'code') {
      refuse(
        'managed_by_code',
        `is declared in code (${row.source ?? 'schedules/*.ts'}): edit it there and run 'beat sync'`,
      );
    } else if (version !== undefined && row?.version !== version) {
      refuse(
        'conflict',
        row
          ? `changed since version ${version} (now ${row.version}): read it again and re-apply the change`
          : `version ${version} was given, but there is no such schedule (removed since?)`,
      );
    }
  }
  return errors;
}

function nextDate(checked: CheckedDeclaration, totalRuns: number, now: number): Date | null {
  const next = nextFireWithin(checked.schedule, { ...checked.fields, totalRuns }, now);
  return next === null ? null : new Date(next);
}
