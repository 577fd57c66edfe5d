/** The beat processes seen lately (each writes its row every few seconds: src/beat/presence.ts). */
import { sql } from 'drizzle-orm';
import type { Database } from '../db/database.ts';
import { iso } from './instant.ts';

export interface ReplicaView {
  id: string;
  host: string;
  pid: number;
  /** As it last said: leader, standby, starting, stopping, stopped. */
  role: string;
  http: string | null;
  version: string;
  startedAt: string;
  seenAt: string;
  /** Seen within three presence intervals. */
  alive: boolean;
}

export async function recentReplicas(
  database: Database,
  group: string,
  aliveWithinMs: number,
): Promise<ReplicaView[]> {
  const rows = await database.rows<{
    id: string;
    host: string;
    pid: number | string;
    role: string;
    http: string | null;
    version: string;
    started_at: Date | string;
    seen_at: Date | string;
    alive: boolean;
  }>(sql`
    select id, host, pid, role, http, version, started_at, seen_at,
           seen_at > clock_timestamp() - ${aliveWithinMs} * interval '1 millisecond' as alive
      from metronome.replicas
     where grp = ${group} and seen_at > clock_timestamp() - interval '1 hour'
     order by alive desc, started_at`);
  return rows.map((r) => ({
    id: r.id,
    host: r.host,
    pid: Number(r.pid),
    role: r.alive || r.role === 'stopped' ? r.role : 'gone',
    http: r.http,
    version: r.version,
    startedAt: iso(r.started_at) as string,
    seenAt: iso(r.seen_at) as string,
    alive: r.alive,
  }));
}
