/**
 * A Celery app's beat_schedule, read through the user's Python and turned into validated imported
 * entries. Any entry that cannot be imported stops the import (ImportProblemsError, nothing written).
 */
import type { ScheduleDeclarationInput } from '../model/index.ts';
import { type CeleryAppSource, type CeleryDump, dumpCeleryApp } from './celery-app.ts';
import { convertAll, type ReadyEntry } from './entry.ts';
import { fromCeleryEntry } from './from-celery.ts';

export interface LoadedCeleryApp {
  dump: CeleryDump;
  entries: ReadyEntry[];
  /** Each entry's clock zone (what an interval's wall clock is read in), for --check. */
  clockZones: Map<string, string | null>;
}

export async function loadCeleryApp(
  source: CeleryAppSource,
  now: number,
  defaults: Partial<ScheduleDeclarationInput> = {},
): Promise<LoadedCeleryApp> {
  const dump = await dumpCeleryApp(source);
  const entries = convertAll(dump.entries, (entry) => fromCeleryEntry(entry, { now, defaults }), now);
  const clockZones = new Map(
    dump.entries.map((e) => [
      e.name,
      e.schedule && 'zone' in e.schedule ? (e.schedule.zone ?? null) : (dump.app.zone ?? null),
    ]),
  );
  return { dump, entries, clockZones };
}
