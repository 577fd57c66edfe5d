/**
 * Steady lag, Metronome alone: K interval schedules every second for a while (overlap `allow`),
 * the real runtime in-process on the local Postgres, Redis run locks and the Celery transport on a
 * real Redis broker. Lag is per occurrence, from its due instant (slot plus jitter, database time)
 * to the moment the broker has acknowledged the message (the pipeline's reply: it is in the list).
 * No worker consumes; the queue is deleted at the end.
 *
 *   node --import tsx bench/steady-lag.ts [--k 1000] [--seconds 120] [--locks redis|memory]
 *                                         [--overlap allow|skip] [--log-level info]
 * Env: METRONOME_BENCH_PG_URL (admin URL, default postgres://postgres@127.0.0.1:5432/postgres),
 *      REDIS_URL (default redis://127.0.0.1:6379/10).
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { BeatMetrics } from '../src/beat/metrics.ts';
import { Beat } from '../src/beat/runtime.ts';
import { createRunLocks } from '../src/locks/index.ts';
import { createLogger } from '../src/logger.ts';
import { loadCelerySettings } from '../src/transports/celery/settings.ts';
import { CeleryTransport } from '../src/transports/celery/transport.ts';
import type { EnqueueItem } from '../src/transports/transport.ts';
import { BEAT_DEFAULTS, benchDatabase, deleteKeys } from './support.ts';

const { values: opt } = parseArgs({
  options: {
    k: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '120' },
    locks: { type: 'string', default: 'redis' },
    overlap: { type: 'string', default: 'allow' },
    'log-level': { type: 'string', default: 'info' },
  },
});
const K = Number(opt.k);
const SECONDS = Number(opt.seconds);
const LOCKS = opt.locks === 'memory' ? 'memory' : 'redis';
const OVERLAP = opt.overlap === 'skip' ? 'skip' : 'allow';
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/10';

const bench = await benchDatabase('steady');
const { id, database, leaseDb, sql } = bench;
await sql`insert into metronome.schedules (name, task, kind, every_ms, overlap, managed_by)
          select 'steady-' || i, 'tasks.steady', 'interval', 1000, ${OVERLAP}, 'db' from generate_series(1, ${K}) i`;
const offset = (await bench.now()) - Date.now();

const lags: number[] = [];
const seen = new Set<string>();
let duplicates = 0;
let measuring = false;
class MeasuringCelery extends CeleryTransport {
  override async enqueue(batch: EnqueueItem[]) {
    const results = await super.enqueue(batch);
    const now = Date.now() + offset;
    if (measuring)
      batch.forEach((item, i) => {
        if (!results[i]?.ok) return;
        lags.push(now - item.fireAt);
        if (seen.has(item.taskId)) duplicates++;
        seen.add(item.taskId);
      });
    return results;
  }
}
let lines = 0;
const log = createLogger({ level: opt['log-level'], destination: { write: () => void lines++ } });
const queue = `steady-${id}`;
const locks = createRunLocks({
  redisUrls: LOCKS === 'redis' ? [REDIS] : [],
  prefix: `metronome:steady:${id}:`,
});
const transport = new MeasuringCelery(
  loadCelerySettings({ BROKER_URL: REDIS, METRONOME_DEFAULT_QUEUE: queue }),
  log,
);
const beat = new Beat({
  database,
  leaseConnection: leaseDb,
  transport,
  locks,
  log,
  metrics: new BeatMetrics({ processMetrics: false }),
  ...BEAT_DEFAULTS,
});
await beat.start();
// Let it take the lease, load and settle for three seconds, then measure.
await new Promise((r) => setTimeout(r, 3_000));
measuring = true;
const started = Date.now();
await new Promise((r) => setTimeout(r, SECONDS * 1_000));
measuring = false;
const measured = lags.slice();
await beat.stop();

const [counts] = await sql<{ missed: number; skipped: number; claimed: number }[]>`
  select count(*) filter (where status = 'missed')::int as missed,
         count(*) filter (where status = 'skipped_overlap')::int as skipped,
         count(*) filter (where status = 'claimed')::int as claimed
  from metronome.occurrences`;
const redis = new Redis(REDIS);
const inBroker = await redis.llen(queue);
await redis.del(queue, `_kombu.binding.${queue}`);
await deleteKeys(redis, `metronome:steady:${id}:*`);
redis.disconnect();
await transport.close();
await locks.close();
await bench.drop();

measured.sort((a, b) => a - b);
const pct = (p: number) =>
  measured[Math.min(measured.length - 1, Math.max(0, Math.ceil((p / 100) * measured.length) - 1))] ??
  Number.NaN;
console.log(
  `steady lag: ${K} interval schedules every second (overlap ${OVERLAP}) for ${SECONDS} s (${((Date.now() - started) / 1000).toFixed(0)} s measured); Celery on Redis, run locks ${LOCKS === 'redis' ? 'Redis' : 'in-process'}`,
);
console.log(
  `node ${process.version}; ${os.cpus().length} cores; load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(
  `in the broker ${measured.length} (expected about ${K * SECONDS}; ${inBroker} in the list in all); duplicates ${duplicates}; ${lines} log lines`,
);
console.log(
  `ledger: missed ${counts?.missed}, skipped_overlap ${counts?.skipped}, left claimed ${counts?.claimed}`,
);
console.log(
  `lag due → in the broker, ms: p50 ${pct(50).toFixed(1)}  p90 ${pct(90).toFixed(1)}  p99 ${pct(99).toFixed(1)}  max ${measured[measured.length - 1]?.toFixed(1)}`,
);
