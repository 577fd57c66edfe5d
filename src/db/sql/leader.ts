/**
 * The leader lease, `metronome.leader`: taking, renewing and giving it up (run by
 * src/beat/leadership.ts), the fence other writes check, and the reads observe/ makes.
 *
 * The fence: the statements that check the lease row from inside another write. A leader's writes are valid only while its lease is: the claim and the giving back of
 * claims check it last in their transaction (FOR SHARE, so a takeover's epoch bump waits for their
 * COMMIT), and taking rows over from earlier terms requires it in the statement itself.
 */
import { type SQL, sql } from 'drizzle-orm';
import { LEADER_CHANNEL } from '../channels.ts';
import type { Database, Db } from '../database.ts';

export class FencedError extends Error {
  constructor(reason: string) {
    super(`not the leader any more: ${reason}`);
  }
}

export interface Fence {
  group: string;
  holder: string;
  epoch: number;
}

/** The lease is ours at the check (database time), or the transaction is fenced off. */
export async function checkLease(database: Database, tx: Db, fence: Fence): Promise<void> {
  const [lease] = await database.rows<{ holder: string | null; epoch: string | number; valid: boolean }>(
    sql`select holder, epoch, coalesce(expires_at > clock_timestamp(), false) as valid
        from metronome.leader where grp = ${fence.group} for share`,
    tx,
  );
  if (!lease || lease.holder !== fence.holder || Number(lease.epoch) !== fence.epoch || !lease.valid) {
    throw new FencedError(
      lease
        ? `lease held by ${lease.holder ?? 'nobody'} at epoch ${lease.epoch}${lease.valid ? '' : ' (expired)'}, ours was epoch ${fence.epoch}`
        : 'no lease row',
    );
  }
}

/** The lease is ours right now (database time): the condition for taking rows over. */
export function leaseIsOurs(fence: Fence): SQL {
  return sql`exists (select 1 from metronome.leader l
                     where l.grp = ${fence.group} and l.holder = ${fence.holder} and l.epoch = ${fence.epoch}
                       and l.expires_at > clock_timestamp())`;
}

/*
 * The lease itself. Leadership runs these on its own connection (src/beat/leadership.ts), so they
 * are statements to run, not functions that run them.
 */

/** The group's lease row, created free (epoch 0) when there is none. */
export function ensureLeaseRow(group: string): SQL {
  return sql`insert into metronome.leader (grp, epoch) values (${group}, 0) on conflict (grp) do nothing`;
}

/** Give the lease up (a clean stop): only if it is still ours, at our epoch. */
export function releaseLease(group: string, holder: string, epoch: number): SQL {
  return sql`
    update metronome.leader set holder = null, expires_at = null
    where grp = ${group} and holder = ${holder} and epoch = ${epoch}`;
}

/** Tell standbys the lease was given up, so one takes it at once. */
export function notifyLeaseReleased(group: string): SQL {
  return sql`select pg_notify(${LEADER_CHANNEL}, ${group})`;
}

/**
 * Renew our lease for `ttlMs` from now (database time) while it is still ours and valid; returns
 * `epoch` when renewed.
 */
export function renewLease(group: string, holder: string, epoch: number, ttlMs: number): SQL {
  return sql`
    update metronome.leader
    set expires_at = clock_timestamp() + ${ttlMs} * interval '1 millisecond', holder_pid = pg_backend_pid()
    where grp = ${group} and holder = ${holder} and epoch = ${epoch}
      and expires_at > clock_timestamp()
    returning epoch`;
}

/**
 * Take the lease if it is free, expired, ours, or its holder's lease session is gone (a crashed
 * holder: Postgres closed its connection, so its backend left pg_stat_activity), bumping the epoch.
 * Returns the new `epoch`, and `previous`: when the lease was another's and still valid, when it
 * would have ended (ms).
 */
export function takeLease(group: string, holder: string, ttlMs: number): SQL {
  return sql`
    update metronome.leader l
    set holder = ${holder}, epoch = l.epoch + 1, holder_pid = pg_backend_pid(),
        expires_at = clock_timestamp() + ${ttlMs} * interval '1 millisecond',
        previous_expires_at = case
          when l.holder is distinct from ${holder} and l.expires_at > clock_timestamp()
          then l.expires_at end
    where l.grp = ${group}
      and (l.holder is null or l.expires_at is null or l.expires_at <= clock_timestamp()
           or l.holder = ${holder}
           or (l.holder_pid is not null
               and not exists (select 1 from pg_stat_activity a where a.pid = l.holder_pid)))
    returning l.epoch, (extract(epoch from l.previous_expires_at) * 1000)::float8 as previous`;
}

/*
 * Reads of the lease and its history (`metronome.leader_history`, kept by a trigger on the lease
 * row: migrations/0004_leader_history.sql).
 */

export interface LeaderRow {
  holder: string | null;
  epoch: number | string;
  expires_at: Date | string | null;
  live: boolean | null;
  started_at: Date | string | null;
}

/** The group's lease row, with when its term began. */
export async function leaderRow(database: Database, group: string): Promise<LeaderRow | undefined> {
  const [row] = await database.rows<LeaderRow>(sql`
    select l.holder, l.epoch, l.expires_at, l.expires_at > clock_timestamp() as live, h.started_at
      from metronome.leader l
      left join metronome.leader_history h on h.grp = l.grp and h.epoch = l.epoch
     where l.grp = ${group}`);
  return row;
}

export interface LeaderHistoryRow {
  epoch: number | string;
  holder: string;
  started_at: Date | string;
  ended_at: Date | string | null;
  end_reason: 'released' | 'expired' | 'taken_over' | null;
}

/** The group's latest `limit` terms, newest first. */
export async function leaderHistoryRows(
  database: Database,
  group: string,
  limit: number,
): Promise<LeaderHistoryRow[]> {
  return database.rows<LeaderHistoryRow>(sql`
    select epoch, holder, started_at, ended_at, end_reason from metronome.leader_history
     where grp = ${group} order by epoch desc limit ${limit}`);
}
