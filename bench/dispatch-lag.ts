/**
 * Dispatch lag: N schedules firing every second for a while, on real Postgres and real Redis run
 * locks, with the log transport writing nowhere. Lag is measured per occurrence, from its due instant
 * (slot plus jitter, on database time) to the moment the transport is called with it.
 *
 *   node --import tsx bench/dispatch-lag.ts [schedules=1000] [seconds=60]
 * Env: METRONOME_BENCH_PG_URL (admin URL, default postgres://postgres@127.0.0.1:5432/postgres),
 *      REDIS_URL (default redis://127.0.0.1:6379; "none" for the in-process lock).
 */
import { BeatMetrics } from '../src/beat/metrics.ts';
import { Beat } from '../src/beat/runtime.ts';
import { createRunLocks } from '../src/locks/index.ts';
import { createLogger } from '../src/logger.ts';
import { LogTransport } from '../src/transports/log.ts';
import type { EnqueueItem } from '../src/transports/transport.ts';
import { ADMIN_URL, BEAT_DEFAULTS, benchDatabase } from './support.ts';

const SCHEDULES = Number(process.argv[2] ?? 1000);
const SECONDS = Number(process.argv[3] ?? 60);
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const bench = await benchDatabase('bench');
const { id, database, leaseDb, sql } = bench;
await sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by)
          select 'bench-' || i, 'tasks.bench', 'interval', 1000, 'db' from generate_series(1, ${SCHEDULES}) i`;

const lags: number[] = [];
const seen = new Set<string>();
let duplicates = 0;
let offset = 0;
class MeasuringTransport extends LogTransport {
  override async enqueue(batch: EnqueueItem[]) {
    const now = Date.now() + offset;
    for (const item of batch) {
      lags.push(now - item.fireAt);
      if (seen.has(item.taskId)) duplicates++;
      seen.add(item.taskId);
    }
    return super.enqueue(batch);
  }
}
offset = (await bench.now()) - Date.now();

const locks = createRunLocks({
  redisUrls: REDIS === 'none' ? [] : [REDIS],
  prefix: `metronome:bench:${id}:`,
});
const metrics = new BeatMetrics({ processMetrics: false });
const beat = new Beat({
  database,
  leaseConnection: leaseDb,
  transport: new MeasuringTransport(() => {}),
  locks,
  log: createLogger({ level: 'warn' }),
  metrics,
  ...BEAT_DEFAULTS,
});
await beat.start();
// Let it take the lease and settle for two seconds, then measure.
await new Promise((r) => setTimeout(r, 2_000));
lags.length = 0;
const started = Date.now();
await new Promise((r) => setTimeout(r, SECONDS * 1_000));
const measured = lags.slice();
await beat.stop();

const [counts] = await sql<{ missed: number; skipped: number; claimed: number }[]>`
  select count(*) filter (where status = 'missed')::int as missed,
         count(*) filter (where status = 'skipped_overlap')::int as skipped,
         count(*) filter (where status = 'claimed')::int as claimed
  from metronome.occurrences`;
await locks.close();
await bench.drop();

measured.sort((a, b) => a - b);
const pct = (p: number) =>
  measured[Math.min(measured.length - 1, Math.floor((p / 100) * measured.length))] ?? Number.NaN;
console.log(
  `dispatch lag: ${SCHEDULES} schedules every second for ${SECONDS} s (${((Date.now() - started) / 1000).toFixed(0)} s measured)`,
);
console.log(
  `node ${process.version}; run locks: ${REDIS === 'none' ? 'in-process' : 'Redis'}; Postgres ${new URL(ADMIN_URL).host}`,
);
console.log(`enqueued ${measured.length} (expected about ${SCHEDULES * SECONDS}); duplicates ${duplicates}`);
console.log(
  `ledger: missed ${counts?.missed}, skipped_overlap ${counts?.skipped}, left claimed ${counts?.claimed}`,
);
console.log(
  `lag ms: p50 ${pct(50).toFixed(1)}  p90 ${pct(90).toFixed(1)}  p99 ${pct(99).toFixed(1)}  max ${measured[measured.length - 1]?.toFixed(1)}`,
);
