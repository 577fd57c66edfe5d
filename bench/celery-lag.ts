/**
 * End-to-end lag, scheduled instant → task started in a real Celery worker, over ~1,000 fires:
 * SCHEDULES schedules every second for SECONDS seconds (all due at the same instant each second),
 * a real beat process, a private redis-server as broker and result backend, Debian's Celery 5.2
 * worker (prefork, CONCURRENCY processes). Needs Postgres (METRONOME_TEST_PG_URL) like the tests.
 *
 *   node --import tsx bench/celery-lag.ts            # 50 schedules × 21 s, Redis broker
 *   BROKER=amqp node --import tsx bench/celery-lag.ts # the same on RabbitMQ (a vhost of its own)
 */
import { BeatProcess, sleep } from '../test/support/beat-process.ts';
import { CeleryWorker, cleanupCeleryDirs, duplicates } from '../test/support/celery-worker.ts';
import { beatChild } from '../test/support/cli.ts';
import { createTestDatabase } from '../test/support/pg.ts';
import { createVhost, type TestVhost } from '../test/support/rabbitmq.ts';
import { RedisServerProcess } from '../test/support/redis.ts';

const SCHEDULES = Number(process.env.SCHEDULES ?? 50);
const SECONDS = Number(process.env.SECONDS ?? 21);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);
const BROKER = process.env.BROKER === 'amqp' ? 'amqp' : 'redis';

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

const db = await createTestDatabase();
const redis = await RedisServerProcess.start();
let vhost: TestVhost | undefined;
let beat: BeatProcess | undefined;
let worker: CeleryWorker | undefined;
try {
  if (BROKER === 'amqp') vhost = await createVhost();
  const brokerUrl = vhost ? vhost.url : `${redis.url}/0`;
  const backendUrl = `${redis.url}/1`;
  const env = {
    DATABASE_URL: db.url,
    METRONOME_HTTP: 'off',
    METRONOME_SYNC_ON_START: 'false',
    METRONOME_LEASE_TTL: '5s',
    REDIS_URL: '',
    BROKER_URL: brokerUrl,
    RESULT_BACKEND: backendUrl,
    LOG_LEVEL: 'warn',
    ...(vhost ? { METRONOME_AMQP_QUEUES: 'declare' } : {}),
  };
  const migrate = await beatChild(['migrate'], { env });
  if (migrate.code !== 0) throw new Error(migrate.stderr);
  worker = await CeleryWorker.start({ broker: brokerUrl, backend: backendUrl, concurrency: CONCURRENCY });
  beat = new BeatProcess('beat', { ...env, LOG_LEVEL: 'info' });
  await beat.waitForLog('leading', 15_000);
  for (let i = 0; i < SCHEDULES; i++) {
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, overlap, managed_by)
                 values (${`lag-${i}`}, 'tasks.record', 'interval', 1000, 'allow', 'db')`;
  }
  await sleep(SECONDS * 1000);
  await db.sql`update metronome.schedules set enabled = false`;
  await sleep(3_000);

  const starts = worker.starts().filter((r) => r.periodic_task_name?.startsWith('lag-'));
  const lags = starts.map((r) => r.t * 1000 - Date.parse(String(r.scheduled_for))).sort((a, b) => a - b);
  const [fired] = await db.sql<{ n: number; p50: number; p99: number }[]>`
    select count(*)::int as n,
           percentile_cont(0.5) within group (order by extract(epoch from enqueued_at - scheduled_for) * 1000) as p50,
           percentile_cont(0.99) within group (order by extract(epoch from enqueued_at - scheduled_for) * 1000) as p99
    from metronome.occurrences`;
  console.log(
    JSON.stringify({
      broker: BROKER,
      schedules: SCHEDULES,
      seconds: SECONDS,
      workerPool: `prefork -c ${CONCURRENCY}`,
      fired: fired?.n,
      started: starts.length,
      duplicates: duplicates(starts).length,
      // scheduled instant → recorded enqueued in the ledger (the beat's side alone)
      enqueueLagMs: {
        p50: Math.round(Number(fired?.p50) * 10) / 10,
        p99: Math.round(Number(fired?.p99) * 10) / 10,
      },
      // scheduled instant → task started in the worker (end to end)
      lagMs: {
        p50: Math.round(pct(lags, 50) * 10) / 10,
        p90: Math.round(pct(lags, 90) * 10) / 10,
        p99: Math.round(pct(lags, 99) * 10) / 10,
        max: Math.round((lags.at(-1) ?? 0) * 10) / 10,
        min: Math.round((lags[0] ?? 0) * 10) / 10,
      },
    }),
  );
} finally {
  await beat?.stop();
  await worker?.stop();
  await redis.stop();
  await vhost?.drop();
  await db.drop();
  cleanupCeleryDirs();
}
