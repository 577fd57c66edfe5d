/**
 * The one read that spans tables: a digest of `schedules`, `occurrences`, `leader`, `replicas` and
 * `audit_log`, cheap enough to make every second (src/observe/activity.ts turns it into the live
 * page's fingerprint). One small scan of `schedules`; the rest reads indexes only (the partial
 * index of runs in flight, the primary keys).
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../database.ts';

/** Each part as the database renders it; null where the table has no row for it (no leader yet). */
export interface ActivityDigest {
  /** Row count and the sum of versions (a version is bumped by every edit, pause, resume, enable). */
  schedules: string | null;
  /** The run counts and cursors of all schedules, then the runs in flight counted by status. */
  runs: string | null;
  /** The group's lease: epoch and holder. */
  leader: string | null;
  /** The group's replicas and their roles. */
  replicas: string | null;
  /** The newest audit record's id. */
  actions: string | null;
}

export async function activityDigest(database: Database, group: string): Promise<ActivityDigest> {
  const [row] = await database.rows<ActivityDigest>(sql`
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
  return row ?? { schedules: null, runs: null, leader: null, replicas: null, actions: null };
}
