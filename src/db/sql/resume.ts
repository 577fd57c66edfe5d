/**
 * A paused schedule resumed and the resume recorded in the audit log, in the caller's transaction:
 * one home for the operator's resume (src/operate/pause.ts) and the leader's, when a pause with an
 * end has ended (src/beat/pause-ends.ts).
 */

import { isoOrInvalid, type ScheduleRecord } from '../../model/index.ts';
import type { Db } from '../database.ts';
import { type Actor, recordAction } from './audit.ts';
import { resumeSchedule } from './schedules.ts';

/**
 * Resume `record` (locked, paused) in the transaction `tx` and record it: by an operator, or by the
 * beat itself when its pause has ended (`byItself`).
 */
export async function resumePaused(
  tx: Db,
  record: ScheduleRecord,
  now: number,
  actor: Actor,
  byItself: boolean,
): Promise<ScheduleRecord> {
  const resumed = await resumeSchedule(tx, record, now);
  await recordAction(tx, actor, 'resume', record.name, {
    pausedAt: record.pausedAt ? isoOrInvalid(record.pausedAt) : null,
    reason: record.pausedReason,
    ...(record.pausedUntil ? { until: isoOrInvalid(record.pausedUntil) } : {}),
    ...(byItself ? { byItself: true } : {}),
    version: resumed.version,
  });
  return resumed;
}
