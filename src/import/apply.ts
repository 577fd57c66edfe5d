/**
 * Import into the database: one transaction that holds the sync lock (an import and a `beat sync`
 * never interleave), reads the rows, plans (src/import/plan.ts) and writes the plan — or, on any
 * conflict or with `dryRun`, writes nothing.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../db/database.ts';
import { LOCK_KEYS } from '../db/migrate.ts';
import { databaseNow } from '../db/store.ts';
import { ImportProblemsError, type ReadyEntry } from './entry.ts';
import { type ImportPlan, planImport } from './plan.ts';
import { rowsForImport } from './sql/rows-for-import.ts';
import { insertImportedSchedule, updateImportedSchedule } from './sql/write-imported-schedule.ts';

export interface ApplyOptions {
  /** Written to `source`: how a re-run recognises the rows it made. */
  source: string;
  dryRun: boolean;
}

export async function applyImport(
  database: Database,
  entries: ReadyEntry[],
  options: ApplyOptions,
): Promise<ImportPlan> {
  return database.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_KEYS.sync})`);
    const rows = await rowsForImport(
      tx,
      entries.map((e) => e.name),
      options.source,
    );
    const now = await databaseNow(database, tx);
    const plan = planImport(rows, entries, options.source, now);
    if (plan.problems.length > 0) throw new ImportProblemsError(plan.problems);
    if (options.dryRun) return plan;
    for (const step of plan.actions) {
      if (step.action === 'create') {
        await insertImportedSchedule(tx, step.name, step.entry.fields, options.source, step.cursor);
      } else if (step.action === 'update') {
        await updateImportedSchedule(tx, step.id, step.entry.fields, options.source, step.cursor);
      }
    }
    return plan;
  });
}
