/**
 * The import's plan against the rows already there. Pure: src/import/apply.ts reads the rows and
 * writes the plan in one transaction.
 *
 * Imported rows are database-owned (`managed_by = 'db'`) and carry the import's `source`
 * (`django-celery-beat`, `celery proj.celery:app`), which is how a re-run recognises its own rows:
 * - `create`: a new name;
 * - `update`: one of ours that differs — every changed column listed, including the carried-over
 *   last run and the cursor it moves;
 * - `unchanged`;
 * - `orphan`: one of ours no longer in the source: kept, and listed (`beat remove NAME` deletes it).
 * A name taken by any other row (declared in code, `beat add`, another import) is a conflict, and
 * nothing is written.
 */
import { diffRow, type FieldChange } from '../declare/sync.ts';
import { type ScheduleFields, type ScheduleRecord, TIMING_FIELDS } from '../model/index.ts';
import { type Cursor, carryOver } from './cursor.ts';
import type { ImportProblem, ReadyEntry } from './entry.ts';

export type ImportAction =
  | { action: 'create'; name: string; entry: ReadyEntry; cursor: Cursor }
  | {
      action: 'update';
      name: string;
      id: number;
      entry: ReadyEntry;
      changes: FieldChange[];
      cursor: Cursor | null;
    }
  | { action: 'unchanged'; name: string }
  | { action: 'orphan'; name: string };

export interface ImportPlan {
  actions: ImportAction[];
  problems: ImportProblem[];
}

const camel = (column: string) => column.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const isoDate = (d: Date | null) => (d ? d.toISOString() : null);

export function planImport(
  rows: ScheduleRecord[],
  entries: ReadyEntry[],
  source: string,
  now: number,
): ImportPlan {
  const byName = new Map(rows.map((r) => [r.name, r]));
  const imported = new Set(entries.map((e) => e.name));
  const actions: ImportAction[] = [];
  const problems: ImportProblem[] = [];
  for (const entry of entries) {
    const row = byName.get(entry.name);
    if (!row) {
      const cursor = carryOver({ ...cursorBase(entry, now), existing: null, timingChanged: true });
      actions.push({ action: 'create', name: entry.name, entry, cursor: cursor! });
      continue;
    }
    if (row.managedBy !== 'db' || row.source !== source) {
      problems.push({
        origin: entry.origin,
        reason: `a schedule named ${JSON.stringify(entry.name)} already exists and is not from this import (managed_by ${row.managedBy}${row.source ? `, source ${row.source}` : ''}); rename one of them, or remove the row first (beat remove ${JSON.stringify(entry.name)})`,
      });
      continue;
    }
    const changes = diffRow(row, { name: entry.name, file: source, fields: entry.fields });
    const timingChanged = changes.some(
      (c) => TIMING_FIELDS.has(camel(c.field) as keyof ScheduleFields) || c.field === 'enabled',
    );
    const cursor = carryOver({ ...cursorBase(entry, now), existing: row, timingChanged });
    if (cursor) {
      const lastFireAt = isoDate(row.lastFireAt);
      if (iso(cursor.lastFireAt) !== lastFireAt) {
        changes.push({ field: 'last_fire_at', from: lastFireAt, to: iso(cursor.lastFireAt) });
      }
      const nextFireAt = isoDate(row.nextFireAt);
      if (iso(cursor.nextFireAt) !== nextFireAt) {
        changes.push({ field: 'next_fire_at', from: nextFireAt, to: iso(cursor.nextFireAt) });
      }
      if (cursor.totalRuns !== row.totalRuns) {
        changes.push({ field: 'total_runs', from: row.totalRuns, to: cursor.totalRuns });
      }
    }
    actions.push(
      changes.length === 0
        ? { action: 'unchanged', name: entry.name }
        : { action: 'update', name: entry.name, id: row.id, entry, changes, cursor },
    );
  }
  for (const row of rows) {
    if (row.managedBy === 'db' && row.source === source && !imported.has(row.name)) {
      actions.push({ action: 'orphan', name: row.name });
    }
  }
  return { actions, problems };
}

function cursorBase(entry: ReadyEntry, now: number) {
  return {
    name: entry.name,
    fields: entry.fields,
    lastRunAt: entry.lastRunAt,
    totalRuns: entry.totalRuns,
    now,
  };
}
