/**
 * django-celery-beat's periodic tasks, read with SQL and turned into validated imported entries.
 * Any task that cannot be imported stops the import (ImportProblemsError, nothing written).
 */
import type { Database } from '../db/database.ts';
import type { ScheduleDeclarationInput } from '../model/index.ts';
import { convertAll, type ReadyEntry } from './entry.ts';
import { fromPeriodicTask } from './from-django.ts';
import { type PeriodicTaskRow, readPeriodicTasks } from './sql/read-periodic-tasks.ts';

export interface LoadedPeriodicTasks {
  rows: PeriodicTaskRow[];
  entries: ReadyEntry[];
}

export async function loadPeriodicTasks(
  source: Database,
  now: number,
  defaults: Partial<ScheduleDeclarationInput> = {},
): Promise<LoadedPeriodicTasks> {
  const rows = await readPeriodicTasks(source);
  const entries = convertAll(rows, (row) => fromPeriodicTask(row, { now, defaults }), now);
  return { rows, entries };
}
