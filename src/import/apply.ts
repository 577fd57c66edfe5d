/**
 * Import into the database: one transaction that holds the sync lock (an import and a `beat sync`
 * never interleave), reads the rows, plans (src/import/plan.ts) and writes the plan, each schedule
 * written with its `import` record in the audit log — or, on any conflict or with `dryRun`, writes
 * nothing.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../db/database.ts';
import { LOCK_KEYS } from '../db/migrate.ts';
import { type Actor, type BulkAuditEntry, recordActions } from '../db/sql/audit.ts';
import { insertImportedSchedule, rowsForImport, updateImportedSchedule } from '../db/sql/schedules-import.ts';
import { databaseNow } from '../db/store.ts';
import { ImportProblemsError, type ReadyEntry } from './entry.ts';
import { type ImportPlan, planImport } from './plan.ts';

export interface ApplyOptions {
  /** Written to `source`: how a re-run recognises the rows it made. */
  source: string;
  dryRun: boolean;
  /** Who the audit log names (the CLI's: this process's user@host, src/operate/actor.ts). */
  actor: Actor;
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
    const audit: BulkAuditEntry[] = [];
    for (const step of plan.actions) {
      const { source } = options;
      if (step.action === 'create') {
        const version = await insertImportedSchedule(tx, step.name, step.entry.fields, source, step.cursor);
        audit.push({ name: step.name, action: 'import', detail: { change: 'create', version, source } });
      } else if (step.action === 'update') {
        const version = await updateImportedSchedule(tx, step.id, step.entry.fields, source, step.cursor);
        const changed = step.changes.map((c) => c.field);
        audit.push({
          name: step.name,
          action: 'import',
          detail: { change: 'update', version, changed, source },
        });
      }
    }
    await recordActions(database, tx, options.actor, audit);
    return plan;
  });
}
