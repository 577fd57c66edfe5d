/**
 * Faults and edits that meet a batch on its way out, on real Postgres and real Redis run locks:
 * - a schedule deleted while its batch is inside the transport: the batch is recorded, nothing is
 *   re-sent, nothing crashes;
 * - the broker unreachable for a while: a `skip` schedule sends at most one run for the outage (the
 *   latest slot), and the rest are recorded with a reason — never a burst on recovery;
 * - the status write that follows a successful enqueue fails: the run is not sent again (not by a
 *   retry, not by `beat trigger`'s pick-up of claimed occurrences), and the write is retried.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TRIGGER_CHANNEL } from '../../src/db/channels.ts';
import { eventually, sleep } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { leadingBeatPerFile, statusCounts } from '../support/in-process-beat.ts';

const transport = new ControlledTransport();
const file = leadingBeatPerFile(transport, { redisLocks: true });

const statuses = (name: string) => statusCounts(file.db, name);

async function addEverySecond(name: string, overlap = 'skip'): Promise<void> {
  await file.db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by, overlap)
               values (${name}, ${`tasks.${name}`}, 'interval', 1000, 'db', ${overlap})`;
}

test('a schedule deleted while its batch is in the transport: recorded, not re-sent, no crash', async () => {
  await addEverySecond('race-kept', 'allow');
  await addEverySecond('race-deleted', 'allow');
  await eventually('both firing', 4_000, () => transport.of('race-deleted').length > 0);
  const gate = transport.hold();
  await gate.arrived;
  const inside = transport.held;
  await file.db.sql`delete from metronome.schedules where name = 'race-deleted'`;
  await sleep(300); // the leader hears of the delete while the batch waits
  gate.release();
  await sleep(2_500);
  assert.ok(transport.held >= inside);
  assert.deepEqual(transport.duplicates(), [], 'no task id sent twice');
  const unsent = await file.db.sql<{ task_id: string; status: string }[]>`
    select task_id, status from metronome.occurrences
    where schedule_name in ('race-kept', 'race-deleted') and status = 'claimed'
      and fire_at < now() - interval '1 second'`; // later ones are claimed ahead of their instant
  assert.deepEqual([...unsent], [], 'every sent occurrence is recorded');
  const sentIds = new Set(transport.enqueued.map((e) => e.taskId));
  const recorded = await file.db.sql<{ task_id: string; status: string }[]>`
    select task_id, status from metronome.occurrences where schedule_name = 'race-deleted'`;
  for (const r of recorded) {
    if (sentIds.has(r.task_id))
      assert.ok(['enqueued', 'running'].includes(r.status), `${r.task_id} was sent: ${r.status}`);
  }
  const keptBefore = transport.of('race-kept').length;
  await sleep(1_500);
  assert.ok(transport.of('race-kept').length > keptBefore, 'the other schedule keeps firing');
  await file.db.sql`delete from metronome.schedules where name = 'race-kept'`;
});

test('broker unreachable for 5 s: a skip schedule sends at most one run for the outage, no burst', async () => {
  await addEverySecond('outage-skip');
  await eventually('the first run', 4_000, () => transport.of('outage-skip').length > 0);
  transport.finishAll();
  transport.failing = 'broker unreachable';
  const downAt = Date.now();
  await sleep(5_000);
  transport.failing = null;
  const upAt = Date.now();
  await sleep(3_000);
  await file.db.sql`delete from metronome.schedules where name = 'outage-skip'`;
  const duringOutage = transport
    .of('outage-skip')
    .filter((e) => e.scheduledFor > downAt && e.scheduledFor < upAt);
  assert.ok(
    duringOutage.length <= 1,
    `at most one run for the slots of the outage, got ${duringOutage.length} (${duringOutage
      .map((e) => new Date(e.scheduledFor).toISOString())
      .join(', ')})`,
  );
  const burst = transport.of('outage-skip').filter((e) => e.at >= upAt && e.at < upAt + 1_500);
  assert.ok(burst.length <= 2, `no burst on recovery: ${burst.length} sent in the first 1.5 s`);
  const rows = await file.db.sql<{ status: string; error: string | null }[]>`
    select status, error from metronome.occurrences
    where schedule_name = 'outage-skip' and scheduled_for > ${new Date(downAt)} and scheduled_for < ${new Date(upAt)}`;
  for (const r of rows) {
    assert.notEqual(r.status, 'claimed', 'nothing left claimed');
    if (!['enqueued', 'running', 'succeeded'].includes(r.status))
      assert.ok(r.error, `${r.status} has a reason`);
  }
});

test('the status write after a successful enqueue fails: the run is not sent again', async () => {
  // A sequence, not a table: nextval survives the rollback of the statement the exception aborts.
  await file.db.sql`create sequence public.fail_once`;
  await file.db.sql`
    create function public.fail_enqueued_once() returns trigger language plpgsql as $$
    begin
      if new.status = 'enqueued' and new.schedule_name = 'write-fails'
         and nextval('public.fail_once') = 1 then
        raise exception 'simulated: the status write failed';
      end if;
      return new;
    end $$`;
  await file.db.sql`
    create trigger fail_enqueued_once before update on metronome.occurrences
    for each row execute function public.fail_enqueued_once()`;
  try {
    await addEverySecond('write-fails', 'allow');
    await eventually('the write to fail once', 5_000, async () => {
      const [seq] = await file.db.sql<{ n: string }[]>`select last_value::text as n from public.fail_once`;
      return Number(seq?.n) > 1;
    });
    // What `beat trigger` does: tell the leader to pick up claimed occurrences.
    await file.db.sql`select pg_notify(${TRIGGER_CHANNEL}, 'x')`;
    await sleep(2_500);
    assert.deepEqual(transport.duplicates(), [], 'no task id sent twice');
    // Claims whose instant has not come yet (claimed ahead) are not stuck; older ones would be.
    const [stuck] = await file.db.sql<{ n: number }[]>`
      select count(*)::int as n from metronome.occurrences
      where schedule_name = 'write-fails' and status = 'claimed' and fire_at < now() - interval '1 second'`;
    assert.equal(
      stuck?.n,
      0,
      `the failed write is retried: ${JSON.stringify(await statuses('write-fails'))}`,
    );
  } finally {
    await file.db.sql`delete from metronome.schedules where name = 'write-fails'`;
    await file.db.sql`drop trigger fail_enqueued_once on metronome.occurrences`;
  }
});
