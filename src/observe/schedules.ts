/**
 * The schedules list: every schedule with its spec in words, state (and why), next fire in UTC and
 * in its zone, and its latest occurrence; filtered and paged in SQL (src/db/sql/schedules-read.ts),
 * so 100k rows never leave the database at once.
 */

import type { Database } from '../db/database.ts';
import { calendarsOf } from '../db/sql/calendars.ts';
import { latestOccurrenceRows } from '../db/sql/occurrences-read.ts';
import { displayStateCounts, type ScheduleFilter, schedulePage } from '../db/sql/schedules-read.ts';
import { databaseNow } from '../db/store.ts';
import { type DisplayState, describeSpec, type ScheduleRecord, specInWords } from '../model/index.ts';
import { type Instant, iso, maybeInstant } from './instant.ts';
import { displayState, type RecordView, stateText, viewRecord } from './schedule-view.ts';

export const DISPLAY_STATES: readonly DisplayState[] = ['enabled', 'paused', 'disabled', 'invalid', 'done'];

export interface LatestOccurrence {
  scheduledFor: string;
  status: string;
  manual: boolean;
  taskId: string;
  error: string | null;
}

export interface ScheduleSummary {
  name: string;
  task: string;
  kind: string;
  /** As stored: `30 2 * * * (Europe/Berlin)`. */
  spec: string;
  /** In words: `02:30 Europe/Berlin`. */
  specWords: string;
  state: DisplayState;
  pausedAt: string | null;
  pausedReason: string | null;
  /** When the leader resumes it by itself; null: paused until resumed by hand (or not paused). */
  pausedUntil: Instant | null;
  /** A pending skip (`beat skip`): how many of the next occurrences, and why. */
  skip: { count: number; reason: string | null } | null;
  /** The state with what an operator set, in words: `paused until … (reason)`. */
  stateText: string;
  /** Why it is invalid: the column, what is wrong with it, and both as one line. */
  invalid: { column: string | null; problem: string; reason: string } | null;
  queue: string | null;
  managedBy: string;
  source: string | null;
  description: string | null;
  /** The zone its local times are in (the crontab's; UTC for the other kinds). */
  zone: string;
  nextFire: Instant | null;
  /** The next fire is in the past: due, no leader has fired it yet. */
  due: boolean;
  lastFire: Instant | null;
  latest: LatestOccurrence | null;
  totalRuns: number;
}

export interface ScheduleList {
  total: number;
  /** Every schedule by state, whatever the filter (for the filter's choices). */
  counts: Record<DisplayState, number>;
  limit: number;
  offset: number;
  schedules: ScheduleSummary[];
}

export async function listSchedules(
  database: Database,
  filter: ScheduleFilter,
  page: { limit: number; offset: number },
): Promise<ScheduleList> {
  const { rows, total } = await schedulePage(database, filter, page);
  const now = await databaseNow(database);
  const calendars = await calendarsOf(database.db, rows);
  const latest = await latestOccurrences(
    database,
    rows.map((r) => r.name),
  );
  return {
    total,
    counts: await displayStateCounts(database),
    limit: page.limit,
    offset: page.offset,
    schedules: rows.map((r) => summarize(viewRecord(r, now, calendars), now, latest.get(r.name) ?? null)),
  };
}

export function summarize(view: RecordView, now: number, latest: LatestOccurrence | null): ScheduleSummary {
  const r: ScheduleRecord = view.record;
  return {
    name: r.name,
    task: r.task,
    kind: r.kind,
    spec: describeSpec(r),
    specWords: specInWords(r),
    state: displayState(view),
    pausedAt: iso(r.pausedAt),
    pausedReason: r.pausedReason,
    pausedUntil: maybeInstant(r.pausedUntil?.getTime(), view.zone),
    skip: r.skipCount > 0 ? { count: r.skipCount, reason: r.skipReason } : null,
    stateText: stateText(view, displayState(view)),
    invalid: view.invalidReason
      ? {
          column: view.invalidColumn,
          problem: view.invalidProblem ?? view.invalidReason,
          reason: view.invalidReason,
        }
      : null,
    queue: r.queue,
    managedBy: r.managedBy,
    source: r.source,
    description: r.description,
    zone: view.zone.name,
    nextFire: maybeInstant(view.nextFireAt, view.zone),
    due: view.nextFireAt !== null && view.nextFireAt < now && view.state === 'enabled',
    lastFire: maybeInstant(r.lastFireAt?.getTime(), view.zone),
    latest,
    totalRuns: r.totalRuns,
  };
}

/** The latest occurrence of each named schedule. */
export async function latestOccurrences(
  database: Database,
  names: string[],
): Promise<Map<string, LatestOccurrence>> {
  const out = new Map<string, LatestOccurrence>();
  if (names.length === 0) return out;
  const rows = await latestOccurrenceRows(database, names);
  for (const r of rows) {
    out.set(r.name, {
      scheduledFor: iso(r.scheduled_for) as string,
      status: r.status,
      manual: r.manual,
      taskId: r.task_id,
      error: r.error,
    });
  }
  return out;
}
