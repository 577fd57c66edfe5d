/**
 * Enable and disable a schedule kept in the database. A schedule declared in `schedules/*.ts` owns
 * its `enabled` in code (the next `beat sync` would undo an edit here), so the change is refused
 * with where to make it; pausing works for every schedule.
 */
import type { Database } from '../db/database.ts';
import { recordAction } from '../db/sql/audit.ts';
import { calendarLookup } from '../db/sql/calendars.ts';
import { writeEnabled } from '../db/sql/schedules.ts';
import { databaseNow } from '../db/store.ts';
import { nextFireWithin, type ScheduleRecord, validateRecord } from '../model/index.ts';
import type { Actor } from './actor.ts';
import { OperationError } from './errors.ts';
import { lockSchedule } from './find.ts';

export interface EnableResult {
  record: ScheduleRecord;
  /** False when it already was (nothing changed, nothing recorded). */
  changed: boolean;
}

/** Where a code-owned schedule's definition is edited, for messages. */
export function codeOwnedHint(record: Pick<ScheduleRecord, 'source'>): string {
  return `declared in code (${record.source ?? 'schedules/*.ts'}): edit it there and run 'beat sync'`;
}

/**
 * Set `enabled`. Enabling starts from now, as `beat sync` does: the next fire is computed afresh,
 * so a schedule disabled for a week does not come back with a week of catch-up.
 */
export async function setEnabled(
  database: Database,
  name: string,
  enabled: boolean,
  actor: Actor,
): Promise<EnableResult> {
  return database.db.transaction(async (tx) => {
    const record = await lockSchedule(tx, name);
    if (record.managedBy === 'code') {
      throw new OperationError(
        'managed_by_code',
        `schedule ${JSON.stringify(name)} is ${codeOwnedHint(record)} (pause and resume work for any schedule)`,
      );
    }
    if (record.enabled === enabled) return { record, changed: false };
    const now = await databaseNow(database, tx);
    const { lookup } = await calendarLookup(tx, record.calendars);
    const check = validateRecord(record, now, lookup);
    const next =
      enabled && check.ok ? nextFireWithin(check.schedule, record, now) : record.nextFireAt?.getTime();
    const row = await writeEnabled(
      tx,
      record.id,
      enabled,
      next === null || next === undefined ? null : new Date(next),
    );
    await recordAction(tx, actor, enabled ? 'enable' : 'disable', name, { version: row.version });
    return { record: row, changed: true };
  });
}
