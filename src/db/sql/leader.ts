/**
 * The fence: the statements that check the lease row (`metronome.leader`) from inside another
 * write. A leader's writes are valid only while its lease is: the claim and the giving back of
 * claims check it last in their transaction (FOR SHARE, so a takeover's epoch bump waits for their
 * COMMIT), and taking rows over from earlier terms requires it in the statement itself.
 */
import { type SQL, sql } from 'drizzle-orm';
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
