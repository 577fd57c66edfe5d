/**
 * The 100k herd for celery beat and BullMQ (issue 13): K entries all due at one instant (every
 * minute: celery beat's `crontab()`, a BullMQ job scheduler with pattern `* * * * *`), and how long
 * after that instant the consumer had all of them, or how far each got by `--limit` seconds after it.
 * Metronome's side of the herd is bench/herd.ts.
 *
 *   node --import tsx bench/compare/herd.ts                       # K = 100000, both, 300 s limit
 *   node --import tsx bench/compare/herd.ts --k 20000 --only bullmq --limit 120
 */
import { execSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { cpuSeconds, peakRssMiB } from './proc.ts';
import { BenchRedis } from './redis-server.ts';
import {
  forkConsumer,
  type Kind,
  nextMessage,
  startCeleryBeat,
  upsertBullmqSchedulers,
} from './scheduler.ts';
import type { HerdStats } from './stats.ts';

const { values } = parseArgs({
  options: {
    k: { type: 'string', default: '100000' },
    only: { type: 'string', default: 'celery-beat,bullmq' },
    limit: { type: 'string', default: '300' },
    db: { type: 'string', default: '12' },
  },
});
const K = Number(values.k);
const LIMIT_MS = Number(values.limit) * 1000;
const DB = Number(values.db);
const loadAverage = () => execSync('cat /proc/loadavg').toString().split(' ').slice(0, 3).join(' ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function redisUsedMiB(url: string): Promise<number> {
  const client = new Redis(url);
  const info = await client.info('memory');
  client.disconnect();
  return Math.round(Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0) / 1024 / 102.4) / 10;
}

async function herd(redis: BenchRedis, kind: Exclude<Kind, 'metronome'>) {
  await redis.flush(DB);
  const broker = redis.url(DB);
  const load = loadAverage();
  const consumer = forkConsumer(kind, broker);
  await nextMessage(consumer, 'ready', 30_000);
  const started = Date.now();
  let stop = async () => {};
  let pid = consumer.pid!;
  let setupMs: number;
  if (kind === 'celery-beat') {
    const beat = await startCeleryBeat(K, broker, 'herd');
    pid = beat.pid;
    stop = beat.stop;
    setupMs = Number.NaN; // celery beat sets up inside its own process; see the first arrival
  } else {
    // Start just after a minute boundary so the upserts have most of a minute before the herd.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 2_000) await sleep(60_000 - intoMinute + 500);
    const t0 = Date.now();
    await upsertBullmqSchedulers(K, broker, { pattern: '* * * * *' }, 'herd');
    setupMs = Date.now() - t0;
  }
  const first = await nextMessage<{ at: number }>(consumer, 'first', 900_000).catch(() => null);
  let stats: HerdStats | null = null;
  let received = 0;
  for (;;) {
    const reply = nextMessage<{ stats: HerdStats | null; received: number }>(consumer, 'herd', 60_000);
    consumer.send({ type: 'herd' });
    ({ stats, received } = await reply);
    if (!stats || stats.delivered >= K || Date.now() > stats.due + LIMIT_MS) break;
    await sleep(2_000);
  }
  const cpu = Math.round(cpuSeconds(pid) * 100) / 100;
  const rss = peakRssMiB(pid);
  const redisCpu = Math.round(cpuSeconds(redis.pid) * 100) / 100;
  const redisMiB = await redisUsedMiB(broker);
  const report = nextMessage(consumer, 'report', 60_000);
  consumer.send({ type: 'report', from: 0, to: 0 });
  await report;
  await stop();
  const result = {
    kind,
    k: K,
    load,
    startToFirstArrivalMs: first ? first.at - started : null,
    setupMs,
    herdInstant: stats ? new Date(stats.due).toISOString() : null,
    ...stats,
    receivedTotal: received,
    complete: stats?.delivered === K,
    cpuSecondsWholeRun: cpu,
    peakRssMiB: rss,
    redisCpuSecondsWholeRun: redisCpu,
    redisUsedMiB: redisMiB,
  };
  console.log(JSON.stringify(result));
}

const redis = await BenchRedis.start();
try {
  console.log(
    `herd: K=${K}, ${values.only}, limit ${values.limit} s after the herd instant; ${new Date().toISOString()}`,
  );
  for (const kind of values.only.split(',') as Exclude<Kind, 'metronome'>[]) await herd(redis, kind);
} finally {
  await redis.stop();
}
process.exit(0);
