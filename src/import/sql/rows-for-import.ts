/**
 * The rows an import must plan against: those with the names it brings (a name may be taken) and
 * those it made before (for orphans), locked for the rest of the transaction.
 */
import { eq, inArray, or } from 'drizzle-orm';
import type { Db } from '../../db/database.ts';
import { schedules } from '../../db/schema.ts';
import type { ScheduleRecord } from '../../model/index.ts';

export async function rowsForImport(tx: Db, names: string[], source: string): Promise<ScheduleRecord[]> {
  const bySource = eq(schedules.source, source);
  return tx
    .select()
    .from(schedules)
    .where(names.length > 0 ? or(inArray(schedules.name, names), bySource) : bySource)
    .for('update');
}
