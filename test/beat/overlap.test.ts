/**
 * Overlap policies with runs that outlive their interval, on real Postgres and real Redis run
 * locks: skip records skipped_overlap, buffer_one keeps one pending and sends it when the run ends,
 * allow overlaps; a run lease that ends frees the lock even if the run is never seen finishing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, sleep } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { leadingBeatPerFile, statusCounts } from '../support/in-process-beat.ts';

const transport = new ControlledTransport();
const file = leadingBeatPerFile(transport, { redisLocks: true, maxRunHoldMs: 6_000 });

const statuses = (name: string) => statusCounts(file.db, name);

async function add(name: string, overlap: string, runLeaseMs = 30_000): Promise<void> {
  const { sql } = file.db;
  await sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by, overlap, run_lease_ms)
               values (${name}, ${`tasks.${name}`}, 'interval', 1000, 'db', ${overlap}, ${runLeaseMs})`;
}

test('skip: while a run holds the lock, later fires are recorded skipped_overlap; after it ends, fires run again', async () => {
  await add('long-skip', 'skip');
  await eventually('the first run', 3_000, () => transport.of('long-skip').length === 1);
  await sleep(3_200);
  assert.equal(transport.of('long-skip').length, 1, 'no second run while the first is active');
  const s = await statuses('long-skip');
  assert.ok((s.skipped_overlap ?? 0) >= 2, JSON.stringify(s));
  transport.finish(transport.of('long-skip')[0]!.taskId);
  await eventually('a run after the first finished', 3_000, () => transport.of('long-skip').length === 2);
  // Recorded just after the send (the send is never held up for the ledger).
  const done = await eventually('the first run recorded finished', 3_000, async () => {
    const s = await statuses('long-skip');
    return s.succeeded === 1 ? s : undefined;
  });
  assert.equal(done.succeeded, 1, JSON.stringify(done));
});

test('buffer_one: one fire waits for the run to end, the rest are skipped; it goes when the lock frees', async () => {
  await add('long-buffer', 'buffer_one');
  await eventually('the first run', 3_000, () => transport.of('long-buffer').length === 1);
  await sleep(3_200);
  const held = await statuses('long-buffer');
  assert.equal(held.buffered, 1, JSON.stringify(held));
  assert.ok((held.skipped_overlap ?? 0) >= 1, JSON.stringify(held));
  assert.equal(transport.of('long-buffer').length, 1);
  transport.finish(transport.of('long-buffer')[0]!.taskId);
  await eventually('the buffered run', 3_000, () => transport.of('long-buffer').length >= 2);
  const second = transport.of('long-buffer')[1]!;
  const [row] = await file.db.sql<
    { scheduled_for: Date }[]
  >`select scheduled_for from metronome.occurrences where task_id = ${second.taskId}`;
  assert.ok(
    row && row.scheduled_for.getTime() < second.at - 1_500,
    'the buffered occurrence is the old one, not a new fire',
  );
});

test('allow: runs overlap freely', async () => {
  await add('long-allow', 'allow');
  await sleep(3_500);
  assert.ok(transport.of('long-allow').length >= 3, `${transport.of('long-allow').length} runs`);
  const s = await statuses('long-allow');
  assert.equal(s.skipped_overlap ?? 0, 0);
});

test('a run known to be active keeps its lock past the lease (extended)', async () => {
  await add('extended', 'skip', 2_000);
  await eventually('the first run', 3_000, () => transport.of('extended').length === 1);
  await sleep(4_000);
  assert.equal(transport.of('extended').length, 1, 'still one run: the lock was extended while active');
  transport.finish(transport.of('extended')[0]!.taskId);
  await eventually('the next run', 3_000, () => transport.of('extended').length === 2);
});

test('a run lease that ends frees the lock when the run is never seen finishing', async () => {
  transport.unseen.add('lease');
  await add('lease', 'skip', 2_000);
  await eventually('the first run', 3_000, () => transport.of('lease').length === 1);
  const first = transport.of('lease')[0]!.at;
  await eventually('a second run after the lease', 5_000, () => transport.of('lease').length >= 2);
  const gap = transport.of('lease')[1]!.at - first;
  assert.ok(gap >= 1_800 && gap < 4_000, `second run ${gap} ms after the first (lease 2 s)`);
});

test('a run that looks active forever (a worker killed mid-run) keeps the lock only up to the hold limit', async () => {
  await add('stuck', 'skip', 2_000);
  await eventually('the first run', 3_000, () => transport.of('stuck').length === 1);
  const first = transport.of('stuck')[0]!.at;
  // Never finished: extended lease by lease while active, but not past maxRunHoldMs (6 s here).
  await eventually('a run after the hold limit', 12_000, () => transport.of('stuck').length >= 2);
  const gap = transport.of('stuck')[1]!.at - first;
  assert.ok(gap >= 5_500 && gap < 10_000, `second run ${gap} ms after the first (hold limit 6 s, lease 2 s)`);
});
