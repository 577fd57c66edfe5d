/**
 * A change that lands between a claim made ahead and its instant takes the claim back (docs/runtime.md,
 * "Claim ahead") — also when the loop is busy when the change arrives (here: a broker call held at
 * its gate) and the instant has passed by the time it is free: the schedules the change feed marked
 * are re-read before the held claims are sent (found by review: the claim was sent, and the skip
 * consumed the next slot instead; a pause likewise let the claim go).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { leadingBeatPerFile } from '../support/in-process-beat.ts';

const transport = new ControlledTransport();
const file = leadingBeatPerFile(transport, { claimAheadMs: 6_000, leaseTtlMs: 20_000 });

const cases = [
  { change: 'skip', set: "skip_count = 1, skip_reason = 'maintenance'", status: 'skipped' },
  { change: 'pause', set: "paused_at = now(), paused_reason = 'maintenance'", status: 'missed' },
] as const;

for (const { change, set, status } of cases) {
  test(`a ${change} made while the loop is busy, before the instant, takes the held claim back`, async () => {
    const name = `held-${change}`;
    const gate = transport.hold();
    await file.db.sql`
      insert into metronome.schedules (name, task, kind, run_at, managed_by)
      values (${`blocker-${change}`}, 'tasks.b', 'clocked', now() + interval '1500 milliseconds', 'db')`;
    await file.db.sql`
      insert into metronome.schedules (name, task, kind, every_ms, anchor_at, managed_by)
      values (${name}, 'tasks.h', 'interval', 3600000, now() + interval '3500 milliseconds', 'db')`;
    await gate.arrived; // the loop is busy sending the blocker
    await eventually(`${name} claimed ahead`, 10_000, async () => {
      const rows = await file.db.sql`
        select 1 from metronome.occurrences where schedule_name = ${name} and status = 'claimed'`;
      return rows.length === 1;
    });
    await file.db.sql.unsafe(`update metronome.schedules set ${set} where name = '${name}'`);
    await eventually(`${name}'s slot due`, 10_000, async () => {
      const rows = await file.db.sql`
        select 1 from metronome.occurrences where schedule_name = ${name} and fire_at < now() - interval '300 milliseconds'`;
      return rows.length === 1;
    });
    gate.release();
    await eventually(`${name}'s claim recorded ${status}`, 10_000, async () => {
      const [row] = await file.db.sql<{ status: string }[]>`
        select status from metronome.occurrences where schedule_name = ${name}`;
      return row?.status === status;
    });
    assert.equal(transport.of(name).length, 0, `the slot was sent despite the ${change}`);
    if (change === 'skip') {
      const [row] = await file.db.sql<{ skip_count: number }[]>`
        select skip_count from metronome.schedules where name = ${name}`;
      assert.equal(row?.skip_count, 0, 'the skip was spent on this slot, not the next');
    }
  });
}
