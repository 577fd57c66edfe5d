/**
 * Metronome, celery beat and BullMQ job schedulers side by side (issue 13): K entries each every
 * second, for M minutes, on one Redis, with a consumer recording each message's arrival.
 *
 *   npm run bench:compare                         # K = 100, 1000, 5000; 2 minutes each; all three
 *   npm run bench:compare -- --minutes 0.5 --k 100 --only metronome,celery-beat
 *
 * For each K the three run one after another (close in time, so the machine's load is alike).
 * Lag is the same for all three: the instant the scheduler itself computed the message due → its
 * arrival at the consumer (see celery-consumer.ts and bullmq-worker.ts). Only messages due inside
 * the measured window count; the window starts `--warmup` seconds after the first arrival and the
 * setup, and messages due in it are waited for `--drain` seconds after it ends.
 */
import { execSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { cpuSeconds, cpuSecondsOf, peakRssMiB } from './proc.ts';
import { BenchRedis } from './redis-server.ts';
import {
  forkConsumer,
  type Kind,
  nextMessage,
  type Running,
  startCeleryBeat,
  startMetronome,
  upsertBullmqSchedulers,
} from './scheduler.ts';
import type { WindowStats } from './stats.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '2' },
    k: { type: 'string', default: '100,1000,5000' },
    only: { type: 'string', default: 'metronome,celery-beat,bullmq' },
    warmup: { type: 'string', default: '5' },
    drain: { type: 'string', default: '15' },
    db: { type: 'string', default: '12' },
  },
});
const WINDOW_MS = Number(values.minutes) * 60_000;
const WARMUP_MS = Number(values.warmup) * 1000;
const DRAIN_MS = Number(values.drain) * 1000;
const DB = Number(values.db);
const KS = values.k.split(',').map(Number);
const KINDS = values.only.split(',') as Kind[];

interface Result {
  kind: Kind;
  k: number;
  load: string;
  expected: number;
  stats: WindowStats;
  cpu: { scheduler: number; redis: number; postgres: number };
  peakRssMiB: number;
  /** Metronome: its own ledger's account of the window's slots (a slot not delivered is `missed`, never silent). */
  ledger?: Record<string, number>;
}

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
const loadAverage = () => execSync('cat /proc/loadavg').toString().split(' ').slice(0, 3).join(' ');

async function runOne(redis: BenchRedis, kind: Kind, k: number): Promise<Result> {
  await redis.flush(DB);
  const broker = redis.url(DB);
  const load = loadAverage();
  const consumer = forkConsumer(kind, broker);
  await nextMessage(consumer, 'ready', 30_000);
  const first = nextMessage<{ at: number }>(consumer, 'first', 300_000);
  let scheduler: Running;
  if (kind === 'metronome') scheduler = await startMetronome(k, broker);
  else if (kind === 'celery-beat') scheduler = await startCeleryBeat(k, broker, 'interval');
  else {
    await upsertBullmqSchedulers(k, broker, { every: 1000 });
    scheduler = { pid: consumer.pid!, backendPids: async () => [], stop: async () => {} };
  }
  const setupDone = Date.now();
  const { at } = await first;
  const from = Math.ceil((Math.max(at, setupDone) + WARMUP_MS) / 1000) * 1000;
  const to = from + WINDOW_MS;
  await sleepUntil(from);
  const backends = await scheduler.backendPids();
  const before = {
    scheduler: cpuSeconds(scheduler.pid),
    redis: cpuSeconds(redis.pid),
    postgres: cpuSecondsOf(backends),
  };
  await sleepUntil(to);
  const after = {
    scheduler: cpuSeconds(scheduler.pid),
    redis: cpuSeconds(redis.pid),
    postgres: cpuSecondsOf(backends),
  };
  const rss = peakRssMiB(scheduler.pid);
  await sleepUntil(to + DRAIN_MS);
  const reportMessage = nextMessage<{ stats: WindowStats }>(consumer, 'report', 120_000);
  consumer.send({ type: 'report', from, to });
  const { stats } = await reportMessage;
  const ledger = await scheduler.ledger?.(from, to);
  await scheduler.stop();
  const round2 = (n: number) => Math.round(n * 100) / 100;
  return {
    kind,
    k,
    load,
    expected: (k * WINDOW_MS) / 1000,
    stats,
    cpu: {
      scheduler: round2(after.scheduler - before.scheduler),
      redis: round2(after.redis - before.redis),
      postgres: round2(after.postgres - before.postgres),
    },
    peakRssMiB: rss,
    ...(ledger ? { ledger } : {}),
  };
}

function row(r: Result): string {
  const per1000 = (s: number) => (r.stats.delivered > 0 ? ((s / r.stats.delivered) * 1000).toFixed(3) : '-');
  const cells = [
    r.kind.padEnd(11),
    String(r.k).padStart(5),
    `${r.stats.delivered}/${r.expected}`.padStart(15),
    `${((100 * r.stats.delivered) / r.expected).toFixed(1)}%`.padStart(6),
    String(r.stats.duplicates).padStart(4),
    `${r.stats.lagMs.p50} / ${r.stats.lagMs.p99} / ${r.stats.lagMs.max}`.padStart(26),
    per1000(r.cpu.scheduler).padStart(8),
    per1000(r.cpu.redis).padStart(8),
    per1000(r.cpu.postgres).padStart(8),
    r.peakRssMiB.toFixed(0).padStart(6),
    r.load,
  ];
  return cells.join(' | ');
}

const header = [
  'scheduler  ',
  '    K',
  'delivered/expec',
  '     %',
  ' dup',
  '     lag ms p50 / p99 / max',
  'cpu s/1k',
  'redis/1k',
  '   pg/1k',
  'RSS MB',
  'load 1/5/15 at start',
].join(' | ');

const redis = await BenchRedis.start();
const results: Result[] = [];
try {
  console.log(
    `compare: K=${KS.join(',')}, ${values.minutes} min window each, ${values.only}; node ${process.version}; ${new Date().toISOString()}`,
  );
  for (const k of KS) {
    for (const kind of KINDS) {
      const r = await runOne(redis, kind, k);
      results.push(r);
      console.log(JSON.stringify(r));
    }
  }
} finally {
  await redis.stop();
}
console.log(`\n${header}`);
for (const r of results) console.log(row(r));
process.exit(0);
