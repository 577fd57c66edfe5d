/**
 * Pause and resume: an operator's switch, separate from `enabled` (which a declaration owns), so
 * `beat sync` never un-pauses and a deploy does not undo an incident response. `beat pause|resume`
 * and `POST /api/v1/schedules/NAME/pause|resume` both call these.
 */
import type { Database } from '../db/database.ts';
import { recordAction } from '../db/sql/audit.ts';
import { pauseSchedule, resumeSchedule } from '../db/sql/schedules.ts';
import { databaseNow } from '../db/store.ts';
import { reasonProblem, type ScheduleRecord } from '../model/index.ts';
import type { Actor } from './actor.ts';
import { OperationError } from './errors.ts';
import { lockSchedule } from './find.ts';

export interface PauseResult {
  record: ScheduleRecord;
  /** It was paused before: the pause keeps its start; a new reason replaces the old one. */
  alreadyPaused: boolean;
}

/** Pause; without a reason an existing pause keeps its reason. */
export async function pause(
  database: Database,
  name: string,
  reason: string | null,
  actor: Actor,
): Promise<PauseResult> {
  const problem = reason === null ? null : reasonProblem(reason);
  if (problem) {
    throw new OperationError('bad_reason', `the pause reason for ${JSON.stringify(name)} ${problem}`);
  }
  return database.db.transaction(async (tx) => {
    const record = await lockSchedule(tx, name);
    const alreadyPaused = record.pausedAt !== null;
    const paused = await pauseSchedule(tx, record.id, reason ?? record.pausedReason ?? null);
    await recordAction(tx, actor, 'pause', name, {
      reason: paused.pausedReason,
      alreadyPaused,
      version: paused.version,
    });
    return { record: paused, alreadyPaused };
  });
}

export interface ResumeResult {
  record: ScheduleRecord;
  /** False when it was not paused (nothing changed, nothing recorded). */
  resumed: boolean;
}

/**
 * End a pause. The cursor stays where the pause left it: the slots in the pause follow the
 * schedule's catch-up policy, and the ones not run are recorded missed (docs/runtime.md).
 */
export async function resume(database: Database, name: string, actor: Actor): Promise<ResumeResult> {
  return database.db.transaction(async (tx) => {
    const record = await lockSchedule(tx, name);
    if (record.pausedAt === null) return { record, resumed: false };
    const resumed = await resumeSchedule(tx, record, await databaseNow(database, tx));
    await recordAction(tx, actor, 'resume', name, {
      pausedAt: record.pausedAt.toISOString(),
      reason: record.pausedReason,
      version: resumed.version,
    });
    return { record: resumed, resumed: true };
  });
}
