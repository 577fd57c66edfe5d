/**
 * Skip the next N occurrences (`beat skip`, issue 19), on real Postgres with the claim made ahead
 * of the instant: a skip pending when a slot is claimed is consumed by the claim itself (the slot is
 * recorded `skipped` with the reason, the count goes down in the same transaction); a skip that
 * lands after the slot was claimed ahead takes the claim back — recorded `skipped`, never sent —
 * the way a pause inside the lookahead does. Every wait is for a state, with a bound.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recentActions } from '../../src/db/sql/audit.ts';
import { cliActor } from '../../src/operate/actor.ts';
import { clearSkip, skip } from '../../src/operate/skip.ts';
import { eventually } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { leadingBeatPerFile } from '../support/in-process-beat.ts';

const LOOKAHEAD_MS = 60_000;
const transport = new ControlledTransport();
const file = leadingBeatPerFile(transport, { claimAheadMs: LOOKAHEAD_MS, batchSize: 40 });

interface Row {
  task_id: string;
  ms: number;
  status: string;
  error: string | null;
}

async function rows(name: string): Promise<Row[]> {
  const found = await file.db.sql<Row[]>`
    select task_id, (extract(epoch from scheduled_for) * 1000)::float8 as ms, status, error
    from metronome.occurrences where schedule_name = ${name} and not manual order by scheduled_for`;
  return found.map((r) => ({ ...r, ms: Number(r.ms) }));
}

async function skipState(name: string): Promise<{ skip_count: number; skip_reason: string | null }> {
  const [row] = await file.db.sql<{ skip_count: number; skip_reason: string | null }[]>`
    select skip_count, skip_reason from metronome.schedules where name = ${name}`;
  assert.ok(row, `schedule ${name} exists`);
  return row;
}

/** A whole second `seconds` ahead of the database's clock (ms). */
async function secondsAhead(seconds: number): Promise<number> {
  const [row] = await file.db.sql<{ ms: number }[]>`
    select (extract(epoch from date_trunc('second', now()) + ${seconds} * interval '1 second') * 1000)::float8 as ms`;
  return Number(row?.ms);
}

/** An interval schedule of `everyMs` whose next slot is `at`; a skip set on it from the start. */
async function scheduleAt(
  name: string,
  at: number,
  everyMs = 3_600_000,
  skipped: { count: number; reason: string } | null = null,
): Promise<void> {
  await file.db.sql`
    insert into metronome.schedules (name, task, kind, every_ms, anchor_at, managed_by, next_fire_at, overlap, skip_count, skip_reason)
    values (${name}, 'tasks.skip', 'interval', ${everyMs}, ${new Date(at)}, 'db', ${new Date(at)}, 'allow',
            ${skipped?.count ?? 0}, ${skipped?.reason ?? null})`;
}

test('a skip pending at the claim: the slot is recorded skipped with the reason, the count consumed, nothing sent', async () => {
  const at = await secondsAhead(3);
  await scheduleAt('skip-at-claim', at, 3_600_000, { count: 1, reason: 'bank holiday' });
  await eventually('the slot recorded', 10_000, async () => (await rows('skip-at-claim')).length > 0);
  const [row] = await rows('skip-at-claim');
  assert.equal(row?.ms, at);
  assert.equal(row?.status, 'skipped');
  assert.equal(row?.error, 'skipped: bank holiday');
  assert.deepEqual(await skipState('skip-at-claim'), { skip_count: 0, skip_reason: null });
  await eventually('its instant passed', 15_000, async () => (await secondsAhead(0)) > at + 1_000);
  assert.equal(transport.of('skip-at-claim').length, 0, 'a skipped occurrence is never sent');
});

test('a skip that lands after the slot was claimed ahead takes the claim back: recorded skipped, never sent', async () => {
  const at = await secondsAhead(5);
  await scheduleAt('skip-ahead', at);
  await eventually('claimed ahead', 10_000, async () => (await rows('skip-ahead'))[0]?.status === 'claimed');
  const claimed = (await rows('skip-ahead'))[0];
  await skip(file.running.database, 'skip-ahead', { count: 1, reason: 'maintenance window' }, cliActor());
  await eventually('taken back', 10_000, async () => (await rows('skip-ahead'))[0]?.status === 'skipped');
  const [row] = await rows('skip-ahead');
  assert.equal(row?.task_id, claimed?.task_id);
  assert.equal(row?.error, 'skipped: maintenance window');
  assert.deepEqual(await skipState('skip-ahead'), { skip_count: 0, skip_reason: null });
  await eventually('its instant passed', 15_000, async () => (await secondsAhead(0)) > at + 1_000);
  assert.equal(transport.of('skip-ahead').length, 0, 'the claim taken back was never sent');
  const [action] = await recentActions(file.running.database.db, 1, 'skip-ahead');
  assert.equal(action?.action, 'skip');
  assert.deepEqual(
    { count: action?.detail.count, reason: action?.detail.reason },
    { count: 1, reason: 'maintenance window' },
  );
});

test('skip 2 of a schedule with many claims held: the two earliest are skipped, the rest are sent, none twice', async () => {
  const name = 'skip-two';
  const at = await secondsAhead(6);
  await scheduleAt(name, at, 2_000);
  await eventually('several slots claimed ahead', 10_000, async () => (await rows(name)).length >= 5);
  await skip(file.running.database, name, { count: 2, reason: 'two quiet ones' }, cliActor());
  await eventually(
    'two skipped',
    10_000,
    async () => (await rows(name)).filter((r) => r.status === 'skipped').length === 2,
  );
  const skipped = (await rows(name)).filter((r) => r.status === 'skipped');
  const [first, second] = skipped;
  assert.equal((second?.ms ?? 0) - (first?.ms ?? 0), 2_000, 'two consecutive slots');
  assert.equal(first?.ms, at, 'the earliest slot not yet sent is the first skipped');
  assert.deepEqual(await skipState(name), { skip_count: 0, skip_reason: null });
  await eventually('the slots after them sent', 20_000, () => transport.of(name).length >= 2);
  const sent = transport.of(name);
  assert.ok(
    sent.every((s) => !skipped.some((k) => k.task_id === s.taskId)),
    'no skipped occurrence sent',
  );
  assert.equal(new Set(sent.map((s) => s.taskId)).size, sent.length, 'each sent once');
  assert.equal(sent[0]?.scheduledFor, at + 4_000, 'the first one sent follows the skipped ones');
});

test('a skip cleared ends it; clearing when none is pending changes and records nothing', async () => {
  await scheduleAt('skip-cleared', await secondsAhead(3_600));
  const database = file.running.database;
  await skip(database, 'skip-cleared', { count: 3, reason: 'never mind' }, cliActor());
  assert.deepEqual(await skipState('skip-cleared'), { skip_count: 3, skip_reason: 'never mind' });
  const cleared = await clearSkip(database, 'skip-cleared', cliActor());
  assert.deepEqual(cleared.previous, { count: 3, reason: 'never mind' });
  assert.deepEqual(await skipState('skip-cleared'), { skip_count: 0, skip_reason: null });
  const again = await clearSkip(database, 'skip-cleared', cliActor());
  assert.equal(again.previous.count, 0);
  const actions = await recentActions(database.db, 10, 'skip-cleared');
  assert.deepEqual(
    actions.map((a) => [a.action, a.detail.count]),
    [
      ['skip', 0],
      ['skip', 3],
    ],
  );
});

test('refused with a one-line error naming the schedule: no reason, a count out of range', async () => {
  await scheduleAt('skip-refused', await secondsAhead(3_600));
  const database = file.running.database;
  await assert.rejects(
    skip(database, 'skip-refused', { count: 1, reason: '  ' }, cliActor()),
    /cannot skip "skip-refused": give a reason/,
  );
  await assert.rejects(
    skip(database, 'skip-refused', { count: 0, reason: 'x' }, cliActor()),
    /cannot skip "skip-refused": count 0 is not a whole number from 1 to 10000/,
  );
  await assert.rejects(
    skip(database, 'no-such', { count: 1, reason: 'x' }, cliActor()),
    /no schedule named "no-such"/,
  );
});
