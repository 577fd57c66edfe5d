/** The schedule an action is about, locked for the action's transaction. */
import { eq } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { schedules } from '../db/schema.ts';
import type { ScheduleRecord } from '../model/index.ts';
import { notFound } from './errors.ts';

/** The row, `FOR UPDATE` (two operators pausing at once are applied one after the other). */
export async function lockSchedule(tx: Db, name: string): Promise<ScheduleRecord> {
  const row = await lockScheduleIfAny(tx, name);
  if (!row) throw notFound(name);
  return row;
}

/** The row by name, locked for the transaction; undefined when there is none (create, upsert). */
export async function lockScheduleIfAny(tx: Db, name: string): Promise<ScheduleRecord | undefined> {
  const [row] = await tx.select().from(schedules).where(eq(schedules.name, name)).for('update');
  return row;
}
