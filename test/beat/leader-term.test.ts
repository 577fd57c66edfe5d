/**
 * A leader's term — from election to demotion — under faults, on real Postgres:
 * - an occurrence left `claimed` while this beat leads (a COMMIT whose reply was lost, a batch
 *   dropped by the fence) is noticed and re-sent with its task id, or recorded with a reason;
 * - a long claim transaction does not block the lease renewal (the fence must not cost leadership);
 * - a tick loop stuck on a call that never returns gives up leadership, and another beat leads;
 * - a beat demoted while it was still starting to lead never starts its tick loop;
 * - a clean stop that comes while a claim is committing sends what the turn claimed (the lease is
 *   still ours until the stop releases it), so a hand-over leaves nothing claimed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import postgres from 'postgres';
import { taskIdFor } from '../../src/model/task-id.ts';
import { eventually, sleep } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { startInProcessBeat } from '../support/in-process-beat.ts';
import { createTestDatabase } from '../support/pg.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

test('a claimed occurrence stranded under a running leader is re-sent (same task id) or recorded', async () => {
  const db = await createTestDatabase();
  const transport = new ControlledTransport();
  const running = await startInProcessBeat(db.url, transport);
  try {
    await eventually('leadership', 5_000, () => running.beat.leading);
    const [s] = await db.sql<{ id: number }[]>`
      insert into metronome.schedules (name, task, kind, every_ms, managed_by, overlap, catchup)
      values ('stranded', 'tasks.stranded', 'interval', 3600000, 'db', 'allow', 'all') returning id`;
    const [lease] = await db.sql<{ epoch: number }[]>`select epoch::int from metronome.leader`;
    // What a lost COMMIT reply leaves: a row claimed by this very leader that it does not know about.
    const slot = Date.now() - 500;
    const taskId = taskIdFor(Number(s!.id), slot);
    await db.sql`
      insert into metronome.occurrences (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status, leader_epoch)
      values (${s!.id}, 'stranded', ${new Date(slot)}, ${new Date(slot)}, ${taskId}, 'claimed', ${lease!.epoch})`;
    const row = await eventually('the stranded claim to be handled', 15_000, async () => {
      const [r] = await db.sql<{ status: string; error: string | null }[]>`
        select status, error from metronome.occurrences where task_id = ${taskId}`;
      return r && r.status !== 'claimed' ? r : undefined;
    });
    // Sent: enqueued, or already seen running or finished by the time this looks (a loaded machine).
    if (['enqueued', 'running', 'succeeded', 'failed'].includes(row.status)) {
      assert.equal(transport.enqueued.filter((e) => e.taskId === taskId).length, 1, 'sent once, same id');
    } else {
      assert.ok(row.error, `recorded ${row.status} with a reason`);
    }
  } finally {
    await running.stop();
    await db.drop();
  }
});

test('a claim transaction that takes longer than the lease query timeout does not demote the leader', async () => {
  const db = await createTestDatabase();
  const transport = new ControlledTransport();
  const running = await startInProcessBeat(db.url, transport);
  try {
    await eventually('leadership', 5_000, () => running.beat.leading);
    await db.sql`create table public.slow_once (n int)`;
    await db.sql`
      create function public.slow_claim() returns trigger language plpgsql as $$
      begin
        if exists (select 1 from public.slow_once) then
          delete from public.slow_once;
          perform pg_sleep(3);
        end if;
        return null;
      end $$`;
    await db.sql`
      create trigger slow_claim after insert on metronome.occurrences
      for each statement execute function public.slow_claim()`;
    await db.sql`insert into public.slow_once values (1)`;
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by, overlap)
                 values ('slow-claim', 'tasks.slow', 'interval', 1000, 'db', 'allow')`;
    let demoted = false;
    const deadline = Date.now() + 6_000;
    while (Date.now() < deadline) {
      if (!running.beat.leading) demoted = true;
      await sleep(25);
    }
    assert.equal(demoted, false, 'the leader kept its lease while a claim took 3 s');
    assert.ok(transport.of('slow-claim').length > 0, 'the slow claim went through');
  } finally {
    await running.stop();
    await db.drop();
  }
});

for (const claimAheadMs of [0, 2_000])
  test(`a clean stop while a claim is committing (lookahead ${claimAheadMs} ms): the turn sends what is due, gives back what it claimed ahead, leaves nothing claimed`, async () => {
    await cleanStopMidClaim(claimAheadMs);
  });

async function cleanStopMidClaim(claimAheadMs: number): Promise<void> {
  const db = await createTestDatabase();
  const transport = new ControlledTransport();
  // A 10 s lease: the lease is still certainly ours while the stop lets the turn finish.
  const running = await startInProcessBeat(db.url, transport, { leaseTtlMs: 10_000, claimAheadMs });
  const gate = postgres(db.url, { max: 1, onnotice: () => {} });
  const holder = await gate.reserve();
  try {
    await eventually('leadership', 5_000, () => running.beat.leading);
    // The claim's insert waits on an advisory lock the test holds: the stop begins mid-claim.
    await holder`select pg_advisory_lock(4242)`;
    await db.sql`
      create function public.gate_claim() returns trigger language plpgsql as $$
      begin
        perform pg_advisory_lock_shared(4242);
        perform pg_advisory_unlock_shared(4242);
        return null;
      end $$`;
    await db.sql`
      create trigger gate_claim after insert on metronome.occurrences
      for each statement execute function public.gate_claim()`;
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by, overlap)
                 values ('gated-1', 'tasks.gated', 'interval', 1000, 'db', 'allow'),
                        ('gated-2', 'tasks.gated', 'interval', 1000, 'db', 'allow')`;
    await eventually('the claim to wait at the gate', 10_000, async () => {
      const [w] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`;
      return (w?.n ?? 0) > 0;
    });
    const stopping = running.stop();
    await eventually('the stop to begin', 5_000, () => !running.beat.leading);
    await holder`select pg_advisory_unlock(4242)`;
    await stopping;
    const rows = await db.sql<{ task_id: string; status: string }[]>`
      select task_id, status from metronome.occurrences where not manual`;
    // At the instant, the gated claim's slots were due: they are in the ledger, sent. Claimed
    // ahead, they were not: given back (deleted) for the next leader.
    if (claimAheadMs === 0) assert.ok(rows.length >= 2, `the gated claim committed (${rows.length} rows)`);
    assert.deepEqual(
      rows.filter((r) => r.status === 'claimed').map((r) => r.task_id),
      [],
      'no occurrence left claimed after a clean stop',
    );
    const sent = new Set(transport.enqueued.map((e) => e.taskId));
    for (const r of rows) assert.ok(sent.has(r.task_id), `${r.task_id} (${r.status}) was sent`);
  } finally {
    holder.release();
    await gate.end();
    await db.drop();
  }
}

test('a tick loop stuck on a call that never returns gives up leadership to another beat', async () => {
  const db = await createTestDatabase();
  const stuck = new ControlledTransport();
  const healthy = new ControlledTransport();
  const a = await startInProcessBeat(db.url, stuck);
  let b: Awaited<ReturnType<typeof startInProcessBeat>> | undefined;
  try {
    await eventually('A leads', 5_000, () => a.beat.leading);
    b = await startInProcessBeat(db.url, healthy);
    stuck.hold(); // never released: the broker call hangs for ever
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by, overlap)
                 values ('hang', 'tasks.hang', 'interval', 1000, 'db', 'allow')`;
    await eventually('A stuck in the transport', 5_000, () => stuck.held > 0);
    await eventually('B to lead', 15_000, () => b?.beat.leading);
    await eventually('B to send', 5_000, () => healthy.of('hang').length > 0);
    assert.equal(a.beat.leading, false, 'A no longer leads');
  } finally {
    await b?.stop();
    await Promise.race([a.stop(), sleep(5_000)]);
    await db.drop();
  }
});

test('demoted while starting to lead: the start-up is abandoned and no tick loop starts', async () => {
  const db = await createTestDatabase();
  const target = new URL(db.url);
  const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  const leaseUrl = new URL(db.url);
  leaseUrl.port = String(proxy.port);
  // Hold the schedules table so the new leader's load waits, then take its lease connection away.
  const blocker = postgres(db.url, { max: 1, onnotice: () => {} });
  const holder = await blocker.reserve();
  const transport = new ControlledTransport();
  let running: Awaited<ReturnType<typeof startInProcessBeat>> | undefined;
  try {
    // Migrate first (the lock would block migrations), then lock the table and start.
    const first = await startInProcessBeat(db.url, transport);
    await first.stop();
    await holder`begin`;
    await holder`lock table metronome.schedules in access exclusive mode`;
    running = await startInProcessBeat(db.url, transport, {
      leaseUrl: leaseUrl.toString(),
      captureLogs: true,
    });
    const beat = running;
    await eventually('leading (and stuck loading)', 5_000, () => beat.beat.leading);
    const elected = beat.logs.find((l) => l.msg === 'leading');
    await proxy.down();
    await eventually('demoted', 10_000, () => !beat.beat.leading);
    const demotedAt = Date.now();
    await holder`rollback`;
    await sleep(1_500);
    const termMessages = new Set([
      'schedules loaded',
      'tick loop started',
      'enqueued',
      'tick failed; retrying',
    ]);
    const stale = beat.logs.filter(
      (l) => l.at >= demotedAt && l.epoch === elected?.epoch && termMessages.has(l.msg),
    );
    assert.deepEqual(
      stale.map((l) => l.msg),
      [],
      'nothing of the abandoned term runs after its demotion',
    );
  } finally {
    await holder`rollback`.catch(() => {});
    holder.release();
    await blocker.end({ timeout: 1 });
    await proxy.up();
    await running?.stop();
    await proxy.down();
    await db.drop();
  }
});
