/**
 * Who holds a schedule's run lock (its own, or its exclusion group's): the lock service says whether it is held; the ledger says by
 * which run (the lock's token is the run's task id, and a run holds it from enqueue until it is seen
 * finished or its run lease ends: docs/runtime.md, "Overlap").
 */
import type { Database } from '../db/database.ts';
import { runHoldingLock } from '../db/sql/occurrences-read.ts';
import type { RunLocks } from '../locks/index.ts';
import { redactSecrets } from '../logger.ts';
import type { ScheduleRecord } from '../model/index.ts';
import { lockKey } from '../model/run-lease.ts';
import { iso } from './instant.ts';

export interface RunLockView {
  /** The exclusion group whose lock this is; null: the schedule's own lock. */
  group: string | null;
  /** Whether the lock service holds the lock now; null when it could not be asked. */
  held: boolean | null;
  /** Why `held` is null: the lock service's error, or no lock service in this process. */
  unknown: string | null;
  /** The run in flight (enqueued or running) that holds it, from the ledger. */
  run: {
    /** The schedule whose run holds it (another schedule of the group, for a group's lock). */
    schedule: string;
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
  record: Pick<ScheduleRecord, 'id' | 'exclusionGroup'>,
): Promise<RunLockView> {
  let held: boolean | null = null;
  let unknown: string | null = null;
  if (locks) {
    try {
      held = await locks.isHeld(lockKey(record));
    } catch (error) {
      unknown = redactSecrets(error instanceof Error ? error.message : String(error));
    }
  } else {
    unknown = 'no lock service in this process';
  }
  const row = await runHoldingLock(database, record.id, record.exclusionGroup);
  return {
    group: record.exclusionGroup,
    held,
    unknown,
    run: row
      ? {
          schedule: row.schedule_name,
          taskId: row.task_id,
          status: row.status,
          scheduledFor: iso(row.scheduled_for) as string,
          enqueuedAt: iso(row.enqueued_at),
          leaderEpoch: row.leader_epoch === null ? null : Number(row.leader_epoch),
        }
      : null,
  };
}
