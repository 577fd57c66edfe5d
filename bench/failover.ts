/**
 * Failover times between real beat processes on real Postgres, at the default lease TTL (10 s):
 * a leader killed with SIGKILL (crash) and a leader stopped with SIGTERM (hand-over), several rounds
 * each. Measured from the signal to the first "leading" log line of the standby, and to the first
 * occurrence the new leader records enqueued (ten schedules fire every second, so that is at most a
 * second after it leads, or at once for a slot the gap left due).
 *
 *   node --import tsx bench/failover.ts [rounds=3]
 */
import { BeatProcess } from '../test/support/beat-process.ts';
import { createTestDatabase } from '../test/support/pg.ts';

const ROUNDS = Number(process.argv[2] ?? 3);
const db = await createTestDatabase();
const env = { DATABASE_URL: db.url, METRONOME_HTTP: 'off', METRONOME_SYNC_ON_START: 'false', REDIS_URL: '' };

const crash: number[] = [];
const handover: number[] = [];
const crashEnqueue: number[] = [];
const handoverEnqueue: number[] = [];

/** Milliseconds from `at` to the first enqueue the leader of `epoch` recorded (database clock = ours). */
async function firstEnqueue(epoch: number, at: number): Promise<number> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    const [row] = await db.sql<{ first: Date | null }[]>`select min(enqueued_at) as first
      from metronome.occurrences where leader_epoch = ${epoch} and enqueued_at is not null`;
    if (row?.first) return row.first.getTime() - at;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the leader of epoch ${epoch} enqueued nothing within 30 s`);
}
let n = 0;
let leader = new BeatProcess(`beat-${n++}`, env);
await leader.waitForLog('leading', 20_000);
// The first beat created the schema; give the leaders some work.
await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by)
             select 'fo-' || i, 'tasks.fo', 'interval', 1000, 'db' from generate_series(1, 10) i on conflict do nothing`;
for (let round = 0; round < ROUNDS * 2; round++) {
  const standby = new BeatProcess(`beat-${n++}`, env);
  await standby.waitForLog('beat starting', 20_000);
  await new Promise((r) => setTimeout(r, 3_000 + Math.random() * 3_000)); // a random point in the renewal cycle
  const kind = round % 2 === 0 ? 'crash' : 'handover';
  const at = Date.now();
  leader.signal(kind === 'crash' ? 'SIGKILL' : 'SIGTERM');
  const leading = await standby.waitForLog('leading', 30_000, at);
  const ms = leading.receivedAt - at;
  const enqueueMs = await firstEnqueue(Number(leading.epoch), at);
  (kind === 'crash' ? crash : handover).push(ms);
  (kind === 'crash' ? crashEnqueue : handoverEnqueue).push(enqueueMs);
  console.log(
    `${kind}: standby leads ${ms} ms after the ${kind === 'crash' ? 'SIGKILL' : 'SIGTERM'}, first enqueue after ${enqueueMs} ms`,
  );
  await leader.exited;
  leader = standby;
}
await leader.stop();
await db.drop();
const summary = (xs: number[]) =>
  `min ${Math.min(...xs)} ms, max ${Math.max(...xs)} ms, mean ${Math.round(xs.reduce((a, b) => a + b, 0) / xs.length)} ms`;
console.log(
  `lease TTL 10 s (default). crash (SIGKILL) failover over ${crash.length} rounds: ${summary(crash)}`,
);
console.log(`SIGTERM hand-over over ${handover.length} rounds: ${summary(handover)}`);
console.log(
  `first enqueue of the new leader: after a crash ${summary(crashEnqueue)}; after SIGTERM ${summary(handoverEnqueue)}`,
);
