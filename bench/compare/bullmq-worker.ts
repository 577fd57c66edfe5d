/**
 * The BullMQ side: a Worker consuming the bench queue (a no-op processor recording arrivals). With
 * BullMQ job schedulers the worker is also the scheduler: when it takes a scheduler's job it adds
 * the scheduler's next delayed job, and it is the worker that promotes delayed jobs when due. So this
 * process's CPU is the scheduling CPU (plus consuming, which for Celery is a separate process).
 *
 * The due instant of a job is the slot BullMQ computed for it (the scheduler's next millis, the last
 * part of the job id, equal to the job's timestamp plus its delay); arrival is when the processor is called. Started with `fork`.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { type Arrival, herdStats, windowStats } from './stats.ts';

const url = process.env.BENCH_BROKER ?? 'redis://127.0.0.1:6379/12';
const queue = process.env.BENCH_QUEUE ?? 'compare';
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 500);
const arrivals: Arrival[] = [];
let firstSent = false;

const connection = new Redis(url, { maxRetriesPerRequest: null });
const worker = new Worker(
  queue,
  async (job) => {
    const arrival = Date.now();
    // The slot is the job id's last part (`repeat:<scheduler>:<millis>`); job.delay reads 0 once promoted.
    arrivals.push({
      entry: String(job.repeatJobKey),
      due: Number(String(job.id).split(':').at(-1)),
      arrival,
    });
    if (process.env.BENCH_DEBUG) {
      console.error(
        JSON.stringify({ arrival, id: job.id, timestamp: job.timestamp, delay: job.delay, opts: job.opts }),
      );
    }
    if (!firstSent) {
      firstSent = true;
      process.send?.({ type: 'first', at: arrival });
    }
  },
  { connection, concurrency, prefix: 'bull' },
);
worker.on('error', (error) => console.error(`bullmq worker: ${error.message}`));

process.on('message', (m: { type: string }) => {
  if (m.type === 'herd')
    process.send?.({ type: 'herd', stats: herdStats(arrivals), received: arrivals.length });
});
process.on('message', async (m: { type: string; from: number; to: number }) => {
  if (m.type !== 'report') return;
  const stats = windowStats(arrivals, m.from, m.to);
  const lastArrival = arrivals.at(-1)?.arrival ?? null;
  await worker.close(true).catch(() => {});
  process.send?.({ type: 'report', stats, received: arrivals.length, lastArrival }, () => {
    connection.disconnect();
    process.exit(0);
  });
});

await worker.waitUntilReady();
process.send?.({ type: 'ready' });
