/**
 * A schedule as the client returns it: its definition in the shape a declaration takes (so it can
 * be changed and handed back to `upsert` or `replace`), its `version` (hand it back to make the
 * write conditional), and its state now.
 */

import type { DisplayState, ScheduleDeclarationInput, ScheduleRecord } from '../model/index.ts';
import { displayState, viewRecord } from '../observe/schedule-view.ts';
import { declarationOf } from '../operate/declaration.ts';
import type { CalendarLookup } from '../time/index.ts';

export interface ScheduleInfo extends ScheduleDeclarationInput {
  /** Moves on every change of definition or operator state; give it back to refuse lost updates. */
  version: number;
  /** `db`: created by the client, the API, `beat add` or SQL; `code`: declared in schedules/*.ts (read-only here). */
  managedBy: 'code' | 'db';
  /** The declaring file, or how a database-owned one was created (`client`, `api`, `beat add`). */
  source: string | null;
  state: DisplayState;
  pausedAt: Date | null;
  pausedReason: string | null;
  /** When the leader resumes it by itself (`pause(name, { until })`); null: until resumed. */
  pausedUntil: Date | null;
  /** A pending skip (`skip(name, …)`): how many of the next occurrences, and why; null: none. */
  skip: { count: number; reason: string | null } | null;
  /** Why the runtime will not run it (a row edited with SQL into something invalid). */
  invalidReason: string | null;
  nextFireAt: Date | null;
  lastFireAt: Date | null;
  totalRuns: number;
  createdAt: Date;
  updatedAt: Date;
}

/** `calendars`: the calendars the row names (src/db/sql/calendars.ts, calendarsOf). */
export function scheduleInfo(record: ScheduleRecord, now: number, calendars: CalendarLookup): ScheduleInfo {
  const view = viewRecord(record, now, calendars);
  return {
    ...declarationOf(record),
    version: record.version,
    managedBy: record.managedBy === 'code' ? 'code' : 'db',
    source: record.source,
    state: displayState(view),
    pausedAt: record.pausedAt,
    pausedReason: record.pausedReason,
    pausedUntil: record.pausedUntil,
    skip: record.skipCount > 0 ? { count: record.skipCount, reason: record.skipReason } : null,
    invalidReason: view.invalidReason,
    nextFireAt: view.nextFireAt === null ? null : new Date(view.nextFireAt),
    lastFireAt: record.lastFireAt,
    totalRuns: record.totalRuns,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}
