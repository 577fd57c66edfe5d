/**
 * Keeping the ledger bounded: finished occurrences older than the retention age are deleted, and a
 * schedule keeps at most `perSchedule` finished rows. Runs on the leader, in bounded batches (so a
 * first prune of a huge table does not hold long locks), never touching unfinished rows.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../db/database.ts';

const BATCH = 10_000;
const FINISHED = sql`status not in ('claimed', 'enqueued', 'running', 'buffered')`;

export interface PruneResult {
  byAge: number;
  byCount: number;
}

export async function pruneOccurrences(
  database: Database,
  options: { maxAgeMs: number; perSchedule: number; maxBatches?: number },
): Promise<PruneResult> {
  const maxBatches = options.maxBatches ?? 20;
  const result: PruneResult = { byAge: 0, byCount: 0 };
  for (let i = 0; i < maxBatches; i++) {
    const rows = await database.rows(sql`
      delete from metronome.occurrences o
      using (select task_id from metronome.occurrences
             where scheduled_for < clock_timestamp() - ${options.maxAgeMs} * interval '1 millisecond' and ${FINISHED}
             limit ${BATCH}) d
      where o.task_id = d.task_id
      returning 1`);
    result.byAge += rows.length;
    if (rows.length < BATCH) break;
  }
  for (let i = 0; i < maxBatches; i++) {
    const rows = await database.rows(sql`
      delete from metronome.occurrences o
      using (select task_id from (
               select task_id, row_number() over (partition by schedule_id order by scheduled_for desc) as n
               from metronome.occurrences where ${FINISHED}) ranked
             where n > ${options.perSchedule} limit ${BATCH}) d
      where o.task_id = d.task_id
      returning 1`);
    result.byCount += rows.length;
    if (rows.length < BATCH) break;
  }
  return result;
}
