/** The schedule an action is about, locked for the action's transaction. */
import type { Db } from '../db/database.ts';
import { lockScheduleIfAny } from '../db/sql/schedules.ts';
import type { ScheduleRecord } from '../model/index.ts';
import { notFound } from './errors.ts';

/** The row, `FOR UPDATE` (two operators pausing at once are applied one after the other). */
export async function lockSchedule(tx: Db, name: string): Promise<ScheduleRecord> {
  const row = await lockScheduleIfAny(tx, name);
  if (!row) throw notFound(name);
  return row;
}
