/**
 * A fingerprint of what the dashboard shows, cheap enough to read every second: it changes when a
 * schedule is edited, paused or fired (versions, cursors, run counts), when a run enters or leaves
 * flight, when leadership or a replica's role changes, and when an operator acts. The live page
 * reloads its data when it changes. One small scan of `schedules` and index-only reads otherwise.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../db/database.ts';

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
  const [row] = await database.rows<Record<keyof Fingerprint, string | null>>(sql`
    select
      (select count(*) || ':' || coalesce(sum(version), 0) from metronome.schedules) as schedules,
      (select coalesce(sum(total_runs), 0) || ':' || coalesce(sum(extract(epoch from next_fire_at)), 0)
         from metronome.schedules)
      || '/' ||
      (select coalesce(string_agg(status || '=' || n, ',' order by status), '')
         from (select status, count(*) as n from metronome.occurrences
                where status in ('claimed', 'enqueued', 'running') group by status) f) as runs,
      (select epoch || ':' || coalesce(holder, '') from metronome.leader where grp = ${group}) as leader,
      (select coalesce(string_agg(id || '=' || role, ',' order by id), '') from metronome.replicas
        where grp = ${group}) as replicas,
      (select coalesce(max(id), 0)::text from metronome.audit_log) as actions`);
  return {
    schedules: row?.schedules ?? '',
    runs: row?.runs ?? '',
    leader: row?.leader ?? '',
    replicas: row?.replicas ?? '',
    actions: row?.actions ?? '',
  };
}

/** The parts that differ between two fingerprints. */
export function changedParts(before: Fingerprint | undefined, after: Fingerprint): (keyof Fingerprint)[] {
  return (Object.keys(after) as (keyof Fingerprint)[]).filter((k) => !before || before[k] !== after[k]);
}
