/**
 * Run a schedule now: a manual occurrence, claimed by no leader, that the leader picks up through
 * the same path as a scheduled one (run lock and overlap policy, unless forced). `beat trigger` and
 * `POST /api/v1/schedules/NAME/trigger` both call these.
 */

import type { Database } from '../db/database.ts';
import type { OccurrenceStatus } from '../db/schema.ts';
import { recordAction } from '../db/sql/audit.ts';
import { insertManualOccurrence, occurrenceStatus } from '../db/sql/occurrences.ts';
import type { Actor } from './actor.ts';
import { lockSchedule } from './find.ts';

export interface Triggered {
  name: string;
  taskId: string;
  /** Epoch ms (database time) the manual occurrence is for. */
  scheduledFor: number;
}

export async function trigger(
  database: Database,
  name: string,
  force: boolean,
  actor: Actor,
): Promise<Triggered> {
  return database.db.transaction(async (tx) => {
    const record = await lockSchedule(tx, name);
    const { taskId, scheduledFor } = await insertManualOccurrence(database, record, force, tx);
    await recordAction(tx, actor, 'trigger', name, { taskId, force });
    return { name, taskId, scheduledFor };
  });
}

export interface TriggerOutcome {
  /** `claimed` while no leader has sent it yet. */
  status: OccurrenceStatus;
  error: string | null;
}

/** Wait up to `waitMs` for a leader to enqueue a manual run (it stays claimed until one does). */
export async function awaitDispatch(
  database: Database,
  taskId: string,
  waitMs: number,
): Promise<TriggerOutcome> {
  const deadline = Date.now() + waitMs;
  let state = await occurrenceStatus(database, taskId);
  while (state?.status === 'claimed' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    state = await occurrenceStatus(database, taskId);
  }
  return { status: state?.status ?? 'claimed', error: state?.error ?? null };
}
