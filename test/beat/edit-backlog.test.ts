/**
 * No silent gap when a change takes slots away: a schedule that is behind (catching up one run at a
 * time) and is then edited or removed gets a `missed` row, with the reason, for every slot it had not
 * handled — not a jump of its cursor with nothing in the ledger.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, sleep } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { leadingBeatPerFile } from '../support/in-process-beat.ts';

const transport = new ControlledTransport();
const file = leadingBeatPerFile(transport);

/** A 1 s schedule 30 s behind, catching up every slot but one run at a time (its runs never end). */
async function behind(name: string): Promise<number> {
  const [row] = await file.db.sql<{ id: number }[]>`
    insert into metronome.schedules (name, task, kind, every_ms, managed_by, overlap, catchup, next_fire_at)
    values (${name}, 'tasks.behind', 'interval', 1000, 'db', 'skip', 'all',
            date_trunc('second', now()) - interval '30 seconds') returning id`;
  await eventually(`${name} to start catching up`, 5_000, () => transport.of(name).length > 0);
  return Number(row!.id);
}

async function slots(id: number): Promise<Array<{ ms: number; status: string; error: string | null }>> {
  const rows = await file.db.sql<{ ms: number; status: string; error: string | null }[]>`
    select (extract(epoch from scheduled_for) * 1000)::float8 as ms, status, error
    from metronome.occurrences where schedule_id = ${id} and not manual order by scheduled_for`;
  return rows.map((r) => ({ ...r, ms: Number(r.ms) }));
}

function assertNoGap(rows: Array<{ ms: number }>, until: number): void {
  for (let i = 1; i < rows.length; i++) {
    assert.equal(
      rows[i]!.ms - rows[i - 1]!.ms,
      1_000,
      `a gap after ${new Date(rows[i - 1]!.ms).toISOString()}`,
    );
  }
  assert.ok(rows[rows.length - 1]!.ms >= until - 2_000, 'rows up to the change');
}

test('an edit while a schedule is behind records every slot it had not handled as missed', async () => {
  const id = await behind('behind-edited');
  await sleep(1_000);
  const editedAt = Date.now();
  await file.db.sql`update metronome.schedules set every_ms = 60000 where id = ${id}`;
  await sleep(1_500);
  const rows = await slots(id);
  assertNoGap(rows, editedAt);
  const missed = rows.filter((r) => r.status === 'missed' && /edited/.test(r.error ?? ''));
  assert.ok(missed.length >= 20, `the backlog is in the ledger as missed (${missed.length})`);
});

test('removing a schedule that is behind records its unhandled slots as missed', async () => {
  const id = await behind('behind-removed');
  await sleep(1_000);
  const removedAt = Date.now();
  await file.db.sql`delete from metronome.schedules where id = ${id}`;
  await sleep(1_500);
  const rows = await slots(id);
  assertNoGap(rows, removedAt);
  assert.ok(rows.some((r) => r.status === 'missed' && /removed/.test(r.error ?? '')));
});
