/**
 * The consumer of the Celery messages (Metronome's and celery beat's): a separate process that pops
 * the broker's list as fast as it can (RPOP of up to 1,000 at a time, BRPOP when empty), and records
 * for each message its entry, its due instant and its arrival (the moment the pop returned).
 *
 * The due instant: Metronome's `scheduled_for` header (the occurrence's slot); celery beat's
 * `bench_due_ms` header, which bench_beat.py sets to the instant celery beat itself computed the
 * entry due. Started with `fork`; answers `{ type: 'report', from, to }` with window statistics.
 */
import { Redis } from 'ioredis';
import { type Arrival, herdStats, windowStats } from './stats.ts';

const url = process.env.BENCH_BROKER ?? 'redis://127.0.0.1:6379/12';
const queue = process.env.BENCH_QUEUE ?? 'celery';
const redis = new Redis(url);
const arrivals: Arrival[] = [];
let stopped = false;
let firstSent = false;

function record(envelope: string, arrival: number): void {
  const message = JSON.parse(envelope) as { headers: Record<string, unknown> };
  const h = message.headers;
  if (typeof h.scheduled_for === 'string') {
    arrivals.push({ entry: String(h.periodic_task_name), due: Date.parse(h.scheduled_for), arrival });
  } else if (typeof h.bench_due_ms === 'number') {
    arrivals.push({ entry: String(h.bench_entry), due: h.bench_due_ms, arrival });
  } else {
    arrivals.push({ entry: String(h.id), due: Number.NaN, arrival });
  }
  if (!firstSent) {
    firstSent = true;
    process.send?.({ type: 'first', at: arrival });
  }
}

async function drain(): Promise<void> {
  while (!stopped) {
    const batch = await redis.rpop(queue, 1000);
    const arrival = Date.now();
    if (batch && batch.length > 0) {
      for (const envelope of batch) record(envelope, arrival);
      continue;
    }
    const one = await redis.brpop(queue, 1);
    if (one) record(one[1], Date.now());
  }
}

process.on('message', (m: { type: string }) => {
  if (m.type === 'herd')
    process.send?.({ type: 'herd', stats: herdStats(arrivals), received: arrivals.length });
});
process.on('message', (m: { type: string; from: number; to: number }) => {
  if (m.type !== 'report') return;
  const stats = windowStats(arrivals, m.from, m.to);
  const lastArrival = arrivals.at(-1)?.arrival ?? null;
  process.send?.({ type: 'report', stats, received: arrivals.length, lastArrival }, () => {
    stopped = true;
    redis.disconnect();
    process.exit(0);
  });
});

process.send?.({ type: 'ready' });
await drain();
