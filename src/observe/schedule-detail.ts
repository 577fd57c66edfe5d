/**
 * One schedule, everything about it: its summary, its whole definition, its next fires with DST
 * marks (and the ones a pending skip takes), its DST policy's effect at the coming clock changes, who holds its run lock, where it is edited, and the last operator actions on it.
 */

import type { Database } from '../db/database.ts';
import { type AuditEntry, recentActions } from '../db/sql/audit.ts';
import { calendarsOf } from '../db/sql/calendars.ts';
import { findSchedule } from '../db/sql/schedules-read.ts';
import { databaseNow } from '../db/store.ts';
import type { RunLocks } from '../locks/index.ts';
import { codeOwnedHint } from '../operate/enable.ts';

import { type DstOutlook, dstOutlook } from './dst-outlook.ts';
import { type Instant, instant } from './instant.ts';
import { type RunLockView, runLockOf } from './run-lock.ts';
import { nextFires, type RecordView, recordJson, skippedFires, viewRecord } from './schedule-view.ts';
import { latestOccurrences, type ScheduleSummary, summarize } from './schedules.ts';

interface NextFireView extends Instant {
  /** The DST mark in words, null when DST did not touch this fire. */
  dst: string | null;
  /** The business-calendar mark (`moved from ...`), null when no calendar moved this fire. */
  calendar: string | null;
  /** An operator skipped it (`beat skip`): it will be recorded skipped, not sent. */
  skipped: boolean;
}

export interface ScheduleDetail {
  schedule: ScheduleSummary;
  /** Every column, as `beat show --json` prints it. */
  definition: Record<string, unknown>;
  nextFires: NextFireView[];
  /** Slots among the next fires that a business calendar skips (not fired), in words. */
  skippedFires: Array<ReturnType<typeof instant> & { calendar: string }>;
  /** A local-time crontab's DST policy and its effect at the coming clock changes; null otherwise. */
  dst: DstOutlook | null;
  runLock: RunLockView;
  /** For a schedule declared in code: where to edit it (its `enabled` cannot be changed here). */
  codeOwned: string | null;
  actions: AuditEntry[];
}

const NEXT_FIRES_SHOWN = 10;

export async function scheduleDetail(
  database: Database,
  locks: RunLocks | null,
  name: string,
): Promise<{ detail: ScheduleDetail; view: RecordView; now: number } | null> {
  const record = await findSchedule(database.db, name);
  if (!record) return null;
  const now = await databaseNow(database);
  const view = viewRecord(record, now, await calendarsOf(database.db, [record]));
  const latest = await latestOccurrences(database, [name]);
  const fires = nextFires(view, now, NEXT_FIRES_SHOWN);
  const detail: ScheduleDetail = {
    schedule: summarize(view, now, latest.get(name) ?? null),
    definition: recordJson(view),
    nextFires: fires.map((f) => ({
      ...instant(f.at, view.zone),
      dst: f.dst || null,
      calendar: f.calendar || null,
      skipped: f.skipped,
    })),
    skippedFires: skippedFires(view, now, fires).map((s) => ({
      ...instant(s.at, view.zone),
      calendar: s.text,
    })),
    dst: view.schedule ? dstOutlook(view.schedule, now, record.dstPolicy !== null) : null,
    runLock: await runLockOf(database, locks, record),
    codeOwned: record.managedBy === 'code' ? codeOwnedHint(record) : null,
    actions: await recentActions(database.db, 10, name),
  };
  return { detail, view, now };
}
