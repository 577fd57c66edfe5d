/** The beat processes seen lately (each writes its row every few seconds: src/beat/presence.ts). */
import type { Database } from '../db/database.ts';
import { replicaRows } from '../db/sql/replicas.ts';
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
  const rows = await replicaRows(database, group, aliveWithinMs);
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
