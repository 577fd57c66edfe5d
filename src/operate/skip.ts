/**
 * Skip the next N occurrences (`beat skip`, `POST /api/v1/schedules/NAME/skip`, the client's
 * `skip()`): an operator's switch like pause, so `beat sync` never clears it. The schedule keeps its
 * count and reason; the leader records each of its next occurrences that would run as `skipped`
 * with the reason instead of sending it, and takes it from the count in the same transaction as the
 * ledger row (src/beat/claim.ts; a claim already held for its instant is taken back:
 * src/beat/claimed-ahead.ts). A new skip replaces the count left; `clear` ends it.
 */
import type { Database } from '../db/database.ts';
import { recordAction } from '../db/sql/audit.ts';
import { writeSkip } from '../db/sql/schedules.ts';
import { reasonProblem, type ScheduleRecord } from '../model/index.ts';
import type { Actor } from './actor.ts';
import { OperationError } from './errors.ts';
import { lockSchedule } from './find.ts';

/** The most occurrences one skip may name (a longer stop is a pause: `beat pause --until`). */
export const MAX_SKIP_COUNT = 10_000;

export interface SkipRequest {
  /** How many of the next occurrences; default 1. */
  count?: number;
  reason: string;
}

export interface SkipResult {
  record: ScheduleRecord;
  /** The count and reason the schedule had before (a new skip replaces them). */
  previous: { count: number; reason: string | null };
}

/** Why a skip request cannot be applied to `name`, or null. */
export function skipProblem(name: string, request: SkipRequest): OperationError | null {
  const count = request.count ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_SKIP_COUNT) {
    return new OperationError(
      'bad_value',
      `cannot skip ${JSON.stringify(name)}: count ${String(count)} is not a whole number from 1 to ${MAX_SKIP_COUNT}; a longer stop is a pause (beat pause NAME --until T)`,
    );
  }
  const reason = typeof request.reason === 'string' ? request.reason.trim() : '';
  if (reason === '') {
    return new OperationError(
      'bad_reason',
      `cannot skip ${JSON.stringify(name)}: give a reason (--reason TEXT); the ledger records it on each skipped occurrence`,
    );
  }
  const problem = reasonProblem(reason);
  if (problem)
    return new OperationError('bad_reason', `the skip reason for ${JSON.stringify(name)} ${problem}`);
  return null;
}

/** Skip the next `count` occurrences (replacing a skip still pending). */
export async function skip(
  database: Database,
  name: string,
  request: SkipRequest,
  actor: Actor,
): Promise<SkipResult> {
  const problem = skipProblem(name, request);
  if (problem) throw problem;
  const count = request.count ?? 1;
  const reason = request.reason.trim();
  return database.db.transaction(async (tx) => {
    const record = await lockSchedule(tx, name);
    const previous = { count: record.skipCount, reason: record.skipReason };
    const written = await writeSkip(tx, record.id, count, reason);
    await recordAction(tx, actor, 'skip', name, {
      count,
      reason,
      ...(previous.count > 0 ? { replaced: previous.count } : {}),
      version: written.version,
    });
    return { record: written, previous };
  });
}

/** End a pending skip; nothing changes (and nothing is recorded) when there is none. */
export async function clearSkip(database: Database, name: string, actor: Actor): Promise<SkipResult> {
  return database.db.transaction(async (tx) => {
    const record = await lockSchedule(tx, name);
    const previous = { count: record.skipCount, reason: record.skipReason };
    if (record.skipCount === 0) return { record, previous };
    const written = await writeSkip(tx, record.id, 0, null);
    await recordAction(tx, actor, 'skip', name, {
      count: 0,
      cleared: previous.count,
      reason: previous.reason,
      version: written.version,
    });
    return { record: written, previous };
  });
}
