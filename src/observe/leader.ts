/**
 * The leader lease and its history (`metronome.leader_history`, kept by a trigger on the lease row:
 * migrations/0004_leader_history.sql).
 */
import type { Database } from '../db/database.ts';
import { leaderHistoryRows, leaderRow } from '../db/sql/leader.ts';
import { iso, ms } from './instant.ts';

export interface LeaderView {
  group: string;
  /** Null when no beat holds the lease (released, or never taken). */
  holder: string | null;
  epoch: number;
  /** When this term began; null for a term older than the history. */
  since: string | null;
  expiresAt: string | null;
  /** The lease is held and not expired (database time). */
  live: boolean;
}

export async function currentLeader(database: Database, group: string): Promise<LeaderView> {
  const row = await leaderRow(database, group);
  return {
    group,
    holder: row?.holder ?? null,
    epoch: Number(row?.epoch ?? 0),
    since: row?.holder ? iso(row.started_at) : null,
    expiresAt: iso(row?.expires_at),
    live: Boolean(row?.holder && row.live),
  };
}

export interface LeaderChange {
  epoch: number;
  holder: string;
  startedAt: string;
  endedAt: string | null;
  endReason: 'released' | 'expired' | 'taken_over' | null;
  /** How this term began: the first one known, a hand-over (the last leader released), a failover (its lease ran out). */
  cause: 'first' | 'hand-over' | 'failover';
  previousHolder: string | null;
  /** How long the group had no leader before this term, ms. */
  gapMs: number | null;
}

/** The latest terms, newest first, each with how it began. */
export async function leaderChanges(
  database: Database,
  group: string,
  limit: number,
): Promise<LeaderChange[]> {
  const rows = await leaderHistoryRows(database, group, limit + 1);
  return rows.slice(0, limit).map((row, i) => {
    const previous = rows[i + 1];
    const previousEnd = ms(previous?.ended_at);
    return {
      epoch: Number(row.epoch),
      holder: row.holder,
      startedAt: iso(row.started_at) as string,
      endedAt: iso(row.ended_at),
      endReason: row.end_reason,
      cause: !previous ? 'first' : previous.end_reason === 'released' ? 'hand-over' : 'failover',
      previousHolder: previous?.holder ?? null,
      gapMs: previousEnd === null ? null : Math.max(0, (ms(row.started_at) as number) - previousEnd),
    };
  });
}
