/**
 * The replicas seen, `metronome.replicas`: each beat process writes its row every few seconds
 * (src/beat/presence.ts); the dashboard reads who was seen lately (src/observe/replicas.ts).
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../database.ts';

export interface ReplicaPresence {
  /** The process's holder id (the leader lease's holder when it leads). */
  id: string;
  group: string;
  host: string;
  pid: number;
  role: string;
  /** host:port of its HTTP server, or null when off. */
  http: string | null;
  version: string;
  startedAt: Date;
}

/** Upsert a process's row, seen now (database time). */
export async function writeReplica(database: Database, r: ReplicaPresence): Promise<void> {
  await database.rows(sql`
    insert into metronome.replicas (id, grp, host, pid, role, http, version, started_at, seen_at)
    values (${r.id}, ${r.group}, ${r.host}, ${r.pid}, ${r.role}, ${r.http}, ${r.version},
            ${r.startedAt.toISOString()}::timestamptz, clock_timestamp())
    on conflict (id) do update
      set role = excluded.role, http = excluded.http, seen_at = excluded.seen_at`);
}

/** Delete the rows of processes not seen for `after` (a Postgres interval, e.g. `1 day`). */
export async function forgetReplicas(database: Database, after: string): Promise<void> {
  await database.rows(
    sql`delete from metronome.replicas where seen_at < clock_timestamp() - ${after}::interval`,
  );
}

export interface ReplicaRow {
  id: string;
  host: string;
  pid: number | string;
  role: string;
  http: string | null;
  version: string;
  started_at: Date | string;
  seen_at: Date | string;
  alive: boolean;
}

/** The group's processes seen within the hour, alive (seen within `aliveWithinMs`) first. */
export async function replicaRows(
  database: Database,
  group: string,
  aliveWithinMs: number,
): Promise<ReplicaRow[]> {
  return database.rows<ReplicaRow>(sql`
    select id, host, pid, role, http, version, started_at, seen_at,
           seen_at > clock_timestamp() - ${aliveWithinMs} * interval '1 millisecond' as alive
      from metronome.replicas
     where grp = ${group} and seen_at > clock_timestamp() - interval '1 hour'
     order by alive desc, started_at`);
}
