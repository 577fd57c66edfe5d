/**
 * A fingerprint of what the dashboard shows, cheap enough to read every second: it changes when a
 * schedule is edited, paused or fired (versions, cursors, run counts), when a run enters or leaves
 * flight, when leadership or a replica's role changes, and when an operator acts. The live page
 * reloads its data when it changes. The read itself: src/db/sql/activity.ts.
 */
import type { Database } from '../db/database.ts';
import { activityDigest } from '../db/sql/activity.ts';

export interface Fingerprint {
  /** Definitions and operator state (version bumps on every edit, pause, resume, enable). */
  schedules: string;
  /** Fires: cursors and run counts move on every claim; runs in flight start and finish. */
  runs: string;
  leader: string;
  replicas: string;
  actions: string;
}

export async function fingerprint(database: Database, group: string): Promise<Fingerprint> {
  const row = await activityDigest(database, group);
  return {
    schedules: row.schedules ?? '',
    runs: row.runs ?? '',
    leader: row.leader ?? '',
    replicas: row.replicas ?? '',
    actions: row.actions ?? '',
  };
}

/** The parts that differ between two fingerprints. */
export function changedParts(before: Fingerprint | undefined, after: Fingerprint): (keyof Fingerprint)[] {
  return (Object.keys(after) as (keyof Fingerprint)[]).filter((k) => !before || before[k] !== after[k]);
}
