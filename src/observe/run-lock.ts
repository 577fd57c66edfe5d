/**
 * Who holds a schedule's run lock: the lock service says whether it is held; the ledger says by
 * which run (the lock's token is the run's task id, and a run holds it from enqueue until it is seen
 * finished or its run lease ends: docs/runtime.md, "Overlap").
 */
import type { Database } from '../db/database.ts';
import { runHoldingLock } from '../db/sql/occurrences-read.ts';
import type { RunLocks } from '../locks/index.ts';
import { redactSecrets } from '../logger.ts';
import { lockKey } from '../model/run-lease.ts';
import { iso } from './instant.ts';

export interface RunLockView {
  /** Whether the lock service holds the lock now; null when it could not be asked. */
  held: boolean | null;
  /** Why `held` is null: the lock service's error, or no lock service in this process. */
  unknown: string | null;
  /** The run in flight (enqueued or running) that holds it, from the ledger. */
  run: {
    taskId: string;
    status: string;
    scheduledFor: string;
    enqueuedAt: string | null;
    leaderEpoch: number | null;
  } | null;
}

export async function runLockOf(
  database: Database,
  locks: RunLocks | null,
  scheduleId: number,
): Promise<RunLockView> {
  let held: boolean | null = null;
  let unknown: string | null = null;
  if (locks) {
    try {
      held = await locks.isHeld(lockKey(scheduleId));
    } catch (error) {
      unknown = redactSecrets(error instanceof Error ? error.message : String(error));
    }
  } else {
    unknown = 'no lock service in this process';
  }
  const row = await runHoldingLock(database, scheduleId);
  return {
    held,
    unknown,
    run: row
      ? {
          taskId: row.task_id,
          status: row.status,
          scheduledFor: iso(row.scheduled_for) as string,
          enqueuedAt: iso(row.enqueued_at),
          leaderEpoch: row.leader_epoch === null ? null : Number(row.leader_epoch),
        }
      : null,
  };
}
