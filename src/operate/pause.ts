/**
 * Pause and resume: an operator's switch, separate from `enabled` (which a declaration owns), so
 * `beat sync` never un-pauses and a deploy does not undo an incident response. `beat pause|resume`
 * and `POST /api/v1/schedules/NAME/pause|resume` both call these. A pause may have an end
 * (`until`): the leader resumes the schedule then, through the same resume (src/beat/pause-ends.ts),
 * recorded in the audit log as done by the beat itself.
 */
import type { Database } from '../db/database.ts';
import { recordAction } from '../db/sql/audit.ts';
import { resumePaused } from '../db/sql/resume.ts';
import { pauseSchedule } from '../db/sql/schedules.ts';
import { databaseNow } from '../db/store.ts';
import { isoOrInvalid, reasonProblem, type ScheduleRecord } from '../model/index.ts';
import { MAX_DURATION_MS } from '../model/limits.ts';
import { resolveUntil } from '../time/index.ts';
import type { Actor } from './actor.ts';
import { OperationError } from './errors.ts';
import { lockSchedule } from './find.ts';

export interface PauseResult {
  record: ScheduleRecord;
  /** It was paused before: the pause keeps its start; a new reason replaces the old one. */
  alreadyPaused: boolean;
}

export interface PauseOptions {
  /** Why; null: an existing pause keeps its reason. */
  reason: string | null;
  /**
   * When the leader resumes it: an instant (Date, epoch ms, ISO 8601 with an offset) or a duration
   * from now (`2h`); null or absent: until resumed by hand (a pause with an end loses it).
   */
  until?: unknown;
}

/** Pause; without a reason an existing pause keeps its reason. */
export async function pause(
  database: Database,
  name: string,
  { reason, until }: PauseOptions,
  actor: Actor,
): Promise<PauseResult> {
  const problem = reason === null ? null : reasonProblem(reason);
  if (problem) {
    throw new OperationError('bad_reason', `the pause reason for ${JSON.stringify(name)} ${problem}`);
  }
  return database.db.transaction(async (tx) => {
    const now = await databaseNow(database, tx);
    const end = until === undefined || until === null ? null : pauseEnd(name, until, now);
    const record = await lockSchedule(tx, name);
    const alreadyPaused = record.pausedAt !== null;
    const paused = await pauseSchedule(
      tx,
      record.id,
      reason ?? record.pausedReason ?? null,
      end === null ? null : new Date(end),
    );
    await recordAction(tx, actor, 'pause', name, {
      reason: paused.pausedReason,
      alreadyPaused,
      until: paused.pausedUntil ? isoOrInvalid(paused.pausedUntil) : null,
      version: paused.version,
    });
    return { record: paused, alreadyPaused };
  });
}

/** The instant a pause of `name` ends, checked: in the future, within 100 years. */
function pauseEnd(name: string, until: unknown, now: number): number {
  let at: number;
  try {
    at = resolveUntil(until, now, 'until');
  } catch (error) {
    throw new OperationError(
      'bad_value',
      `cannot pause ${JSON.stringify(name)}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (at <= now) {
    throw new OperationError(
      'bad_value',
      `cannot pause ${JSON.stringify(name)} until ${new Date(at).toISOString()}: that is not in the future (now ${new Date(now).toISOString()}); give a later instant, or a duration such as "2h"`,
    );
  }
  if (at - now > MAX_DURATION_MS) {
    throw new OperationError(
      'bad_value',
      `cannot pause ${JSON.stringify(name)} until ${new Date(at).toISOString()}: more than 100 years ahead; pause without --until instead`,
    );
  }
  return at;
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
    const resumed = await resumePaused(tx, record, await databaseNow(database, tx), actor, false);
    return { record: resumed, resumed: true };
  });
}
