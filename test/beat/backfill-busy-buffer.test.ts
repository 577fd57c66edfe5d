/**
 * A backfill of a `buffer_one` schedule that is always busy — a run in flight and the next slot
 * waiting in its one-run buffer, as a schedule whose runs last longer than its interval is — still
 * gets its turns: a buffered run is not running, so it does not hold the backfill back; whichever
 * takes the lock when it frees goes first, and the other waits (found by the chaos test, seed 7:
 * such a backfill stayed pending for good).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cliActor } from '../../src/operate/actor.ts';
import { requestBackfill } from '../../src/operate/backfill.ts';
import { eventually } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { leadingBeatPerFile } from '../support/in-process-beat.ts';

const transport = new ControlledTransport();
const file = leadingBeatPerFile(transport, { redisLocks: true });

test('a backfill of an always-busy buffer_one schedule is sent, between its runs', async () => {
  const [now] = await file.db.sql<{ ms: number }[]>`select (extract(epoch from now()) * 1000)::float8 as ms`;
  const anchor = Math.floor(Number(now?.ms) / 1000) * 1000 - 60_000;
  await file.db.sql`
    insert into metronome.schedules (name, task, kind, every_ms, anchor_at, overlap, managed_by)
    values ('busy-buffer', 't', 'interval', 1000, ${new Date(anchor)}, 'buffer_one', 'db')`;
  await eventually('a run in flight and one buffered', 15_000, async () => {
    const [r] = await file.db.sql<{ n: number }[]>`
      select count(*)::int as n from metronome.occurrences where schedule_name = 'busy-buffer' and status = 'buffered'`;
    return transport.of('busy-buffer').length >= 1 && (r?.n ?? 0) >= 1;
  });
  await requestBackfill(
    file.running.database,
    { name: 'busy-buffer', from: anchor - 10_000, to: anchor - 9_000 },
    cliActor(),
  );
  // A run ends only once the next slot waits in the buffer (runs longer than the interval): when
  // the lock frees, there is always a buffered run ready to take it.
  let finished = 0;
  const backfilled = await eventually('the backfill sent both its slots', 30_000, async () => {
    const runs = transport.of('busy-buffer');
    const last = runs[runs.length - 1];
    const [waiting] = await file.db.sql<{ n: number }[]>`
      select count(*)::int as n from metronome.occurrences where schedule_name = 'busy-buffer' and status = 'buffered'`;
    if (last && runs.length > finished && (waiting?.n ?? 0) > 0) {
      transport.finish(last.taskId);
      finished = runs.length;
    }
    const [b] = await file.db.sql<{ status: string; claimed: number }[]>`
      select status, claimed from metronome.backfills where schedule_name = 'busy-buffer'`;
    return b?.status === 'done' && b.claimed === 2 ? b : undefined;
  });
  assert.equal(backfilled.claimed, 2);
  assert.deepEqual(transport.duplicates(), [], 'nothing sent twice');
  await file.db.sql`delete from metronome.schedules where name = 'busy-buffer'`;
});
