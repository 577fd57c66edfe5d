/** Shared by the schedule commands: finding a schedule by name, and showing an instant. */
import type { Db } from '../db/database.ts';
import { findSchedule } from '../db/sql/schedules-read.ts';
import type { ScheduleRecord } from '../model/index.ts';
import type { ZoneRules } from '../time/index.ts';
import { CliError } from './errors.ts';
import { formatLocal } from './format.ts';

export async function requireSchedule(db: Db, name: string): Promise<ScheduleRecord> {
  const record = await findSchedule(db, name);
  if (!record) {
    throw new CliError(
      `no schedule named ${JSON.stringify(name)}; 'beat list' shows the schedules there are`,
      2,
    );
  }
  return record;
}

export function when(ms: number | null | undefined, zone: ZoneRules): string {
  return ms === null || ms === undefined ? '-' : formatLocal(ms, zone);
}
