/**
 * Backfill across real beat processes (bin/beat.js, the log transport) on real Postgres and Redis
 * (issue 20): `beat backfill` records the request, the leader sends the range's slots at the rate,
 * each with its deterministic task id; a leader killed mid-backfill is replaced and the next leader
 * resumes where the cursor stands, sending no slot twice; a second backfill of the same range sends
 * nothing. Also: the dry run, the confirmation bound, a range in the future refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { taskIdFor } from '../../src/model/task-id.ts';
import { BeatProcess, type Enqueue, eventually, STARTUP_MS } from '../support/beat-process.ts';
import { beat } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';
import { connectTestRedis, deletePrefix, REDIS_URL, randomPrefix } from '../support/redis.ts';

const TTL_MS = 2_000;
const MINUTE = 60_000;

let db: TestDatabase;
let env: Record<string, string>;
const beats: BeatProcess[] = [];

before(async () => {
  db = await createTestDatabase();
  env = {
    DATABASE_URL: db.url,
    REDIS_URL,
    METRONOME_LOCK_PREFIX: randomPrefix('backfill'),
    METRONOME_LEASE_TTL: `${TTL_MS}ms`,
    METRONOME_HTTP: 'off',
    METRONOME_SYNC_ON_START: 'false',
  };
  const first = new BeatProcess('migrate', env);
  await first.waitForLog('database ready', 20_000);
  await first.stop();
});

after(async () => {
  for (const b of beats) await b.stop();
  const redis = await connectTestRedis();
  await deletePrefix(redis, env.METRONOME_LOCK_PREFIX as string);
  await redis.quit();
  await db.drop();
});

function start(label: string): BeatProcess {
  const b = new BeatProcess(label, env);
  beats.push(b);
  return b;
}

async function addSchedule(name: string, everyMs: number, overlap = 'skip'): Promise<number> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into metronome.schedules (name, task, kind, every_ms, managed_by, overlap)
    values (${name}, ${`tasks.${name}`}, 'interval', ${everyMs}, 'db', ${overlap}) returning id`;
  return Number(row?.id);
}

const cli = (args: string[]) => beat(args, { DATABASE_URL: db.url });

/** Whole minutes, `from` minutes ago to `to` minutes ago. */
function minutesAgo(from: number, to: number): { from: string; to: string; slots: number[] } {
  const base = Math.floor(Date.now() / MINUTE) * MINUTE;
  const slots: number[] = [];
  for (let m = from; m >= to; m--) slots.push(base - m * MINUTE);
  return {
    from: new Date(base - from * MINUTE).toISOString(),
    to: new Date(base - to * MINUTE).toISOString(),
    slots,
  };
}

describe('beat backfill', () => {
  test('the dry run lists the slots and records nothing; a range in the future and a large range are refused', async () => {
    await addSchedule('dry', MINUTE);
    const range = minutesAgo(10, 2);
    const dry = await cli(['backfill', 'dry', '--from', range.from, '--to', range.to, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /dry: 9 slots from .* 9 to send at 1\/s/);
    assert.match(dry.stdout, /dry run: nothing recorded/);
    const [count] = await db.sql<{ n: number }[]>`select count(*)::int as n from metronome.backfills`;
    assert.equal(count?.n, 0);

    const future = new Date(Date.now() + 3_600_000).toISOString();
    const late = await cli(['backfill', 'dry', '--from', range.from, '--to', future]);
    assert.equal(late.code, 2);
    assert.match(late.stderr, /--to .* is in the future/);

    await addSchedule('every-second', 1_000);
    const hours = minutesAgo(120, 1);
    const big = await cli(['backfill', 'every-second', '--from', hours.from, '--to', hours.to]);
    assert.equal(big.code, 2);
    assert.match(big.stderr, /holds 7141 slots \(more than 1000\); confirm with --yes/);
    assert.equal(big.stderr.trim().split('\n').length, 1, 'a one-line error');
  });

  test('a leader killed mid-backfill is replaced; the next leader resumes, no slot sent twice; a second backfill sends nothing', async () => {
    const id = await addSchedule('nightly', MINUTE, 'skip');
    const range = minutesAgo(40, 2);
    const wanted = new Set(range.slots.map((at) => taskIdFor(id, at)));
    // A slot the ledger recorded missed (never sent) is sent by the backfill; one already sent is not.
    const [missedAt, sentAt] = [range.slots[3] as number, range.slots[4] as number];
    await db.sql`insert into metronome.occurrences (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status)
      values (${id}, 'nightly', ${new Date(missedAt)}, ${new Date(missedAt)}, ${taskIdFor(id, missedAt)}, 'missed'),
             (${id}, 'nightly', ${new Date(sentAt)}, ${new Date(sentAt)}, ${taskIdFor(id, sentAt)}, 'succeeded')`;
    wanted.delete(taskIdFor(id, sentAt));

    const a = start('A');
    await a.waitForLog('leading', STARTUP_MS);
    const b = start('B');
    await b.waitForLog('beat starting', 30_000);

    const run = await cli(['backfill', 'nightly', '--from', range.from, '--to', range.to, '--rate', '4/s']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /nightly: 39 slots .* 38 to send at 4\/s/);
    assert.match(run.stdout, /backfill #\d+ recorded: the leader sends 38 slots/);

    const ofRange = (list: Enqueue[]) => list.filter((e) => wanted.has(e.taskId));
    await eventually(
      'the leader to send part of the backfill',
      20_000,
      () => ofRange(a.enqueued).length >= 8,
    );
    // The rate holds: 4/s with a burst of at most a second's worth (4 slots).
    const times = ofRange(a.enqueued).map((e) => e.receivedAt);
    const spanMs = (times.at(-1) as number) - (times[0] as number);
    assert.ok(
      spanMs >= ((times.length - 4) / 4) * 1000 * 0.9,
      `${times.length} slots in ${spanMs} ms at 4/s`,
    );
    const killedAt = Date.now();
    a.signal('SIGKILL');
    await b.waitForLog('leading', TTL_MS + 5_000, killedAt);
    await eventually('the next leader to finish the backfill', 60_000, async () => {
      const [row] = await db.sql<
        { status: string }[]
      >`select status from metronome.backfills where schedule_name = 'nightly'`;
      return (
        row?.status === 'done' &&
        new Set(ofRange([...a.enqueued, ...b.enqueued]).map((e) => e.taskId)).size === wanted.size
      );
    });
    assert.ok(ofRange(b.enqueued).length > 0, 'the next leader sent the rest');
    // A re-send is allowed only for a slot the killed leader claimed and may have sent (same task id).
    const resent = b.logs.some(
      (l) => l.msg === 're-sending occurrences claimed but never enqueued (same task ids)',
    );
    const counts = new Map<string, number>();
    for (const e of ofRange([...a.enqueued, ...b.enqueued]))
      counts.set(e.taskId, (counts.get(e.taskId) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1);
    assert.ok(twice.length === 0 || (resent && twice.length === 1), `sent twice: ${JSON.stringify(twice)}`);
    assert.equal(
      b.enqueued.some((e) => e.taskId === taskIdFor(id, sentAt)),
      false,
      'a slot already sent is not sent again',
    );

    const ledger = await db.sql<{ n: number; backfilled: number }[]>`
      select count(*)::int as n, count(backfill_id)::int as backfilled from metronome.occurrences
      where schedule_name = 'nightly' and scheduled_for between ${new Date(range.slots[0] as number)} and ${new Date(range.slots.at(-1) as number)}`;
    assert.deepEqual(ledger[0], { n: 39, backfilled: 38 });
    const history = await cli(['history', 'nightly', '--limit', '50']);
    assert.match(history.stdout, /backfill #\d+/);

    const sentBefore = b.enqueued.length;
    const again = await cli([
      'backfill',
      'nightly',
      '--from',
      range.from,
      '--to',
      range.to,
      '--rate',
      '20/s',
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /nothing to send/);
    await eventually('the second backfill to be done', 10_000, async () => {
      const rows = await db.sql<{ status: string; already: number }[]>`
        select status, already from metronome.backfills where schedule_name = 'nightly' order by id`;
      return rows.length === 2 && rows[1]?.status === 'done';
    });
    assert.deepEqual(ofRange(b.enqueued.slice(sentBefore)), [], 'the second backfill sent nothing');
  });

  test('a cancelled backfill claims no further slot; what it sent stays sent', async () => {
    const id = await addSchedule('cancelled', MINUTE, 'allow');
    const range = minutesAgo(60, 2);
    const leader = beats.find((b) => b.label === 'B' && b.child.exitCode === null) ?? start('C');
    await leader.waitForLog('leading', STARTUP_MS);
    const run = await cli(['backfill', 'cancelled', '--from', range.from, '--to', range.to, '--rate', '2/s']);
    assert.equal(run.code, 0, run.stderr);
    const ours = new Set(range.slots.map((at) => taskIdFor(id, at)));
    await eventually(
      'two slots sent',
      20_000,
      () => leader.enqueued.filter((e) => ours.has(e.taskId)).length >= 2,
    );
    const cancelledAt = Date.now();
    const cancel = await cli(['backfill', 'cancelled', '--cancel']);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stdout, /backfill #\d+ of cancelled cancelled: \d+ of 59 slots had been claimed/);
    await leader.waitForLog('backfill cancelled', 10_000, cancelledAt);
    const [row] = await db.sql<{ status: string; claimed: number }[]>`
      select status, claimed from metronome.backfills where schedule_name = 'cancelled'`;
    assert.equal(row?.status, 'cancelled');
    const [ledger] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from metronome.occurrences where schedule_name = 'cancelled' and backfill_id is not null`;
    assert.equal(ledger?.n, row?.claimed, 'no slot claimed after the cancel');
    assert.ok((row?.claimed ?? 0) < 59);
    const again = await cli(['backfill', 'cancelled', '--cancel']);
    assert.match(again.stdout, /cancelled: no backfill in progress/);
  });
});
