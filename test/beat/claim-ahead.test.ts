/**
 * Claim ahead (docs/runtime.md, "Claim ahead"), on real Postgres: occurrences are claimed a
 * lookahead before their instant and sent at it, never before; a change that lands between the
 * claim and the instant takes back what it takes away (recorded with the reason, never sent) and
 * the new version's slot fires on time; a herd larger than one batch is all claimed before its
 * instant; a beat that stops with claims made ahead gives them back, and one that dies leaves them
 * to the next leader, which sends each once, at its instant.
 *
 * Each slot is a few seconds ahead in database time; every wait is for a state, with a bound.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { eventually } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { leadingBeatPerFile, startInProcessBeat } from '../support/in-process-beat.ts';

const LOOKAHEAD_MS = 60_000;
const transport = new ControlledTransport();
const file = leadingBeatPerFile(transport, { claimAheadMs: LOOKAHEAD_MS, batchSize: 40 });

interface Row {
  task_id: string;
  ms: number;
  fire_ms: number;
  claimed_ms: number;
  enqueued_ms: number | null;
  status: string;
  error: string | null;
}

async function rows(name: string): Promise<Row[]> {
  const found = await file.db.sql<Row[]>`
    select task_id, (extract(epoch from scheduled_for) * 1000)::float8 as ms,
           (extract(epoch from fire_at) * 1000)::float8 as fire_ms,
           (extract(epoch from claimed_at) * 1000)::float8 as claimed_ms,
           (extract(epoch from enqueued_at) * 1000)::float8 as enqueued_ms, status, error
    from metronome.occurrences where schedule_name = ${name} and not manual order by scheduled_for`;
  return found.map((r) => ({
    ...r,
    ms: Number(r.ms),
    fire_ms: Number(r.fire_ms),
    claimed_ms: Number(r.claimed_ms),
    enqueued_ms: r.enqueued_ms === null ? null : Number(r.enqueued_ms),
  }));
}

/** A whole second `seconds` ahead of the database's clock (ms). */
async function secondsAhead(seconds: number): Promise<number> {
  const [row] = await file.db.sql<{ ms: number }[]>`
    select (extract(epoch from date_trunc('second', now()) + ${seconds} * interval '1 second') * 1000)::float8 as ms`;
  return Number(row?.ms);
}

/** An hourly schedule whose next slot is `at` (anchored there, as `beat add` stores it). */
async function hourlyAt(name: string, at: number): Promise<number> {
  const [row] = await file.db.sql<{ id: number }[]>`
    insert into metronome.schedules (name, task, kind, every_ms, anchor_at, managed_by, next_fire_at)
    values (${name}, 'tasks.ahead', 'interval', 3600000, ${new Date(at)}, 'db', ${new Date(at)}) returning id`;
  return Number(row?.id);
}

async function claimedAhead(name: string): Promise<Row> {
  let row: Row | undefined;
  await eventually(`${name} claimed ahead of its instant`, 10_000, async () => {
    row = (await rows(name))[0];
    return row !== undefined;
  });
  assert.ok(row);
  assert.equal(row.status, 'claimed');
  assert.ok(row.claimed_ms < row.fire_ms, `claimed before its instant: ${JSON.stringify(row)}`);
  return row;
}

test('a slot is claimed ahead of its instant and sent at it, not before', async () => {
  const at = await secondsAhead(4);
  await hourlyAt('ahead-plain', at);
  const claimed = await claimedAhead('ahead-plain');
  assert.equal(transport.of('ahead-plain').length, 0, 'not sent at the claim');
  await eventually('sent', 15_000, async () => (await rows('ahead-plain'))[0]?.status === 'enqueued');
  const [sent] = await rows('ahead-plain');
  assert.equal(sent?.task_id, claimed.task_id);
  assert.ok(
    (sent?.enqueued_ms ?? 0) >= at,
    `recorded enqueued at or after its instant: ${JSON.stringify(sent)}`,
  );
  const items = transport.of('ahead-plain');
  assert.equal(items.length, 1);
  assert.ok((items[0]?.at ?? 0) >= at, 'sent at or after its instant');
  assert.ok(transport.sentPrepared.has(claimed.task_id), 'its message was prepared at the claim');
});

test('a claim whose next slot is beyond the horizon is sent, though other schedules change while it is held', async () => {
  // The claim moves an hourly cursor an hour on, far beyond the horizon: the schedule leaves the
  // book, yet its held claim is still wanted. Edits of other schedules make the term revise its
  // held claims against the book; "not in the book" must not read as "removed".
  const at = await secondsAhead(5);
  await hourlyAt('ahead-far', at);
  const claimed = await claimedAhead('ahead-far');
  for (let i = 0; i < 3; i++) await hourlyAt(`ahead-far-other-${i}`, at + 3_600_000 * (i + 2));
  await eventually('sent', 15_000, async () => (await rows('ahead-far'))[0]?.status !== 'claimed');
  const [row] = await rows('ahead-far');
  assert.equal(row?.status, 'enqueued', `sent, not taken back: ${JSON.stringify(row)}`);
  assert.equal(row?.task_id, claimed.task_id);
  assert.equal(transport.of('ahead-far').length, 1);
});

test('an edit of its arguments inside the lookahead: the slot is kept and goes with the new arguments', async () => {
  const at = await secondsAhead(5);
  const id = await hourlyAt('ahead-args', at);
  await claimedAhead('ahead-args');
  await file.db.sql`update metronome.schedules set args = '["new"]'::jsonb where id = ${id}`;
  await eventually('sent', 15_000, () => transport.of('ahead-args').length > 0);
  const [item] = transport.of('ahead-args');
  assert.deepEqual(item?.args, ['new'], 'sent as the schedule is now, not as it was encoded ahead');
  assert.ok((item?.at ?? 0) >= at);
  assert.equal((await rows('ahead-args')).length, 1);
});

test('a re-timing inside the lookahead: the old slot is taken back, the new one fires on time', async () => {
  const at = await secondsAhead(5);
  const id = await hourlyAt('ahead-retimed', at);
  const old = await claimedAhead('ahead-retimed');
  const moved = at + 2_000;
  await file.db.sql`update metronome.schedules
    set anchor_at = ${new Date(moved)}, next_fire_at = ${new Date(moved)} where id = ${id}`;
  await eventually('the new slot sent', 20_000, () =>
    transport.of('ahead-retimed').some((i) => i.scheduledFor === moved),
  );
  const all = await rows('ahead-retimed');
  const takenBack = all.find((r) => r.task_id === old.task_id);
  assert.equal(takenBack?.status, 'missed', JSON.stringify(all));
  assert.match(takenBack?.error ?? '', /taken back: the schedule was edited/);
  assert.ok(!transport.of('ahead-retimed').some((i) => i.taskId === old.task_id), 'the old slot never sent');
  const sent = transport.of('ahead-retimed').find((i) => i.scheduledFor === moved);
  assert.ok((sent?.at ?? 0) >= moved, 'the new slot is not sent early');
});

for (const change of ['pause', 'disable', 'delete'] as const) {
  test(`a ${change} inside the lookahead: the claim is taken back, recorded, never sent`, async () => {
    const name = `ahead-${change}`;
    const at = await secondsAhead(4);
    const id = await hourlyAt(name, at);
    const claimed = await claimedAhead(name);
    if (change === 'pause')
      await file.db.sql`update metronome.schedules set paused_at = now() where id = ${id}`;
    else if (change === 'disable')
      await file.db.sql`update metronome.schedules set enabled = false where id = ${id}`;
    else await file.db.sql`delete from metronome.schedules where id = ${id}`;
    await eventually('taken back', 10_000, async () => (await rows(name))[0]?.status === 'missed');
    const [row] = await rows(name);
    assert.equal(row?.task_id, claimed.task_id);
    assert.match(row?.error ?? '', /taken back/);
    // Past its instant, it was still not sent.
    await eventually('its instant passed', 15_000, async () => (await secondsAhead(0)) > at + 1_000);
    assert.equal(transport.of(name).length, 0);
  });
}

test('a herd larger than one batch is all claimed before its instant and each sent once, at it', async () => {
  const at = await secondsAhead(8);
  const n = 200; // five batches of 40
  await file.db.sql`
    insert into metronome.schedules (name, task, kind, every_ms, anchor_at, managed_by, next_fire_at)
    select 'herd-' || i, 'tasks.herd', 'interval', 3600000, ${new Date(at)}, 'db', ${new Date(at)}
    from generate_series(1, ${n}) as i`;
  await eventually(
    'the herd sent',
    30_000,
    () => transport.enqueued.filter((e) => e.scheduleName.startsWith('herd-')).length >= n,
  );
  const ledger = await file.db.sql<{ claimed_ms: number; enqueued_ms: number | null; n: number }[]>`
    select max(extract(epoch from claimed_at) * 1000)::float8 as claimed_ms,
           min(extract(epoch from enqueued_at) * 1000)::float8 as enqueued_ms, count(*)::int as n
    from metronome.occurrences where schedule_name like 'herd-%'`;
  assert.equal(ledger[0]?.n, n);
  assert.ok(Number(ledger[0]?.claimed_ms) < at, 'every claim was made before the instant');
  const sent = transport.enqueued.filter((e) => e.scheduleName.startsWith('herd-'));
  assert.equal(new Set(sent.map((e) => e.taskId)).size, n, 'each sent once');
  assert.ok(Math.min(...sent.map((e) => e.at)) >= at, 'none sent before the instant');
});

test('a beat that stops with claims made ahead gives them back; the next leader claims and sends the slot once', async () => {
  // The file's beat holds the lease; a second beat (a standby) takes over when it stops.
  const at = await secondsAhead(6);
  await hourlyAt('ahead-handover', at);
  await claimedAhead('ahead-handover');
  const standbyTransport = new ControlledTransport();
  const standby = await startInProcessBeat(file.db.url, standbyTransport, { claimAheadMs: 1_000 });
  after(() => standby.stop());
  await file.running.stop();
  const given = await rows('ahead-handover');
  assert.deepEqual(given, [], 'the claim made ahead was given back (its cursor too)');
  await eventually('the standby leads', 10_000, () => standby.beat.leading);
  await eventually('sent by the new leader', 15_000, () => standbyTransport.of('ahead-handover').length > 0);
  const [row] = await rows('ahead-handover');
  assert.equal(row?.ms, at);
  assert.equal(transport.of('ahead-handover').length, 0, 'the old leader sent nothing');
  assert.equal(standbyTransport.of('ahead-handover').length, 1);
  assert.ok((standbyTransport.of('ahead-handover')[0]?.at ?? 0) >= at, 'at its instant');
});
