/**
 * A BullMQ worker for the jobs Metronome enqueues (METRONOME_TRANSPORT=bullmq). Copy this file into
 * your project (it needs only `bullmq` and `ioredis`), replace the handlers with your tasks, and run
 * it (as many processes as you like) on the queues your schedules go to:
 *
 *   REDIS_URL=redis://127.0.0.1:6379 node --import tsx examples/bullmq-worker.ts
 *
 * Environment: METRONOME_BULLMQ_URL or REDIS_URL, METRONOME_BULLMQ_PREFIX (default `bull`) — the same
 * as the beat's — and WORKER_QUEUES (default: METRONOME_DEFAULT_QUEUE or `metronome`, plus `reports`),
 * WORKER_CONCURRENCY (default 1).
 *
 * What Metronome sends (docs/transports.md, "BullMQ"):
 * - `job.name` is the schedule's task name: the worker dispatches on it;
 * - `job.id` is the occurrence's task id (stable across re-sends: BullMQ adds it once);
 * - `job.data` is {@link MetronomeJobData}.
 *
 * This worker also applies what BullMQ has no option for: a run not started before `expiresAt` is
 * dropped (failed with a reason starting with "metronome: expired", which the beat records as
 * `expired`), and `timeLimitS` aborts the handler's signal and fails the job.
 */
import { pathToFileURL } from 'node:url';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** What Metronome puts in `job.data`. Instants are ISO 8601 strings (UTC). */
export interface MetronomeJobData {
  args: Json[];
  kwargs: { [key: string]: Json };
  /** The schedule's custom headers (`{}` when none). */
  headers: { [key: string]: Json };
  /** The schedule's name. */
  schedule: string;
  /** The slot this run is for. */
  scheduledFor: string;
  /** Do not start the run after this instant (null: no expiry). */
  expiresAt: string | null;
  /** Time limits in seconds (null: none). */
  timeLimitS: number | null;
  softTimeLimitS: number | null;
  /** Started by `beat trigger`. */
  manual: boolean;
}

/** Metronome records a job failed with a reason starting with this as `expired`. */
export const EXPIRED_REASON_PREFIX = 'metronome: expired';

/** A task: gets the job and an AbortSignal (aborted on the time limit or a forced shutdown). */
export type TaskHandler = (job: Job<MetronomeJobData>, signal: AbortSignal) => Promise<unknown>;

export interface MetronomeWorkerOptions {
  /** A connection for the worker; BullMQ requires `maxRetriesPerRequest: null` on it. */
  connection: Redis;
  /** The same as the beat's METRONOME_BULLMQ_PREFIX (default `bull`). */
  prefix?: string;
  /** Jobs run at once by this process (default 1). */
  concurrency?: number;
  /** Start consuming at once (default true). */
  autorun?: boolean;
  /** Connection trouble (the worker reconnects by itself); default: console.error. */
  onError?: (error: Error) => void;
}

/** A Worker on `queue` that runs Metronome's jobs through `handlers` (keyed by task name). */
export function metronomeWorker(
  queue: string,
  handlers: Record<string, TaskHandler>,
  options: MetronomeWorkerOptions,
): Worker<MetronomeJobData> {
  const worker = new Worker<MetronomeJobData>(
    queue,
    async (job, _token, signal) => {
      const { expiresAt, timeLimitS } = job.data;
      if (expiresAt !== null && Date.now() > Date.parse(expiresAt)) {
        // Unrecoverable: never retried, whatever `attempts` the job has.
        throw new UnrecoverableError(`${EXPIRED_REASON_PREFIX} at ${expiresAt}, not started`);
      }
      const handler = handlers[job.name];
      if (!handler) throw new UnrecoverableError(`no handler for task "${job.name}"`);
      const signals = [signal ?? new AbortController().signal];
      if (timeLimitS !== null) signals.push(AbortSignal.timeout(timeLimitS * 1000));
      const abort = AbortSignal.any(signals);
      // The job fails when the signal aborts, even if the handler ignores the signal (it then runs
      // on in the background: honour `signal` in long handlers).
      return await Promise.race([
        handler(job, abort),
        new Promise<never>((_, reject) => {
          const fail = () =>
            reject(
              abort.reason instanceof DOMException && abort.reason.name === 'TimeoutError'
                ? new Error(`time limit of ${timeLimitS} s exceeded`)
                : abort.reason,
            );
          if (abort.aborted) fail();
          else abort.addEventListener('abort', fail, { once: true });
        }),
      ]);
    },
    {
      connection: options.connection,
      prefix: options.prefix ?? 'bull',
      concurrency: options.concurrency ?? 1,
      autorun: options.autorun ?? true,
    },
  );
  // Without an 'error' listener a dropped connection would crash the process; the worker reconnects.
  worker.on('error', options.onError ?? ((error) => console.error(`worker error: ${error.message}`)));
  return worker;
}

// ---------------------------------------------------------------------------------------------------
// The tasks of the example schedules in schedules/ (replace with yours). Their keys are the `task`
// of your schedules.

const tasks: Record<string, TaskHandler> = {
  // Celery's tutorial task: every 30 s with args [2, 3], it prints 5.
  'tasks.add': async (job) => {
    const [a, b] = job.data.args as [number, number];
    console.log(`tasks.add(${a}, ${b}) = ${a + b}`);
    return a + b;
  },
  'home.tasks.lights_on': async (job) => {
    console.log(`lights on in the ${String(job.data.kwargs.room)}`);
  },
  'marketing.tasks.send_launch_email': async () => {
    console.log('sending the launch email');
  },
  // Routed to the `reports` queue by its schedule; `expires: '1h'` is applied by metronomeWorker().
  'reports.nightly': async (job) => {
    console.log(`nightly report (${String(job.data.kwargs.format)}) for ${job.data.scheduledFor}`);
  },
  // `timeLimit: '30m'`: the signal aborts after 30 minutes.
  'billing.tasks.send_invoices': async (_job, signal) => {
    for (const customer of ['acme', 'globex']) {
      signal.throwIfAborted();
      console.log(`invoicing ${customer}`);
    }
  },
};

async function main(): Promise<void> {
  const url = process.env.METRONOME_BULLMQ_URL || process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const prefix = process.env.METRONOME_BULLMQ_PREFIX || 'bull';
  // The default queue and the queues your schedules (or METRONOME_TASK_ROUTES) name.
  const queues = (
    process.env.WORKER_QUEUES || `${process.env.METRONOME_DEFAULT_QUEUE || 'metronome'},reports`
  )
    .split(',')
    .map((q) => q.trim())
    .filter(Boolean);
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const workers = queues.map((queue) => {
    const worker = metronomeWorker(queue, tasks, {
      connection,
      prefix,
      concurrency: Number(process.env.WORKER_CONCURRENCY || 1),
    });
    worker.on('completed', (job) => console.log(`done ${job.name} ${job.id}`));
    worker.on('failed', (job, error) => console.error(`failed ${job?.name} ${job?.id}: ${error.message}`));
    return worker;
  });
  console.log(`consuming ${queues.map((q) => `"${q}"`).join(', ')} (prefix "${prefix}")`);

  // Graceful shutdown: stop taking jobs, let running ones finish (a second signal aborts them).
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      console.log(`${signal} again: aborting running jobs`);
      for (const worker of workers) worker.cancelAllJobs('shutdown');
      await Promise.all(workers.map((worker) => worker.close(true)));
      process.exit(1);
    }
    stopping = true;
    console.log(`${signal}: finishing running jobs, then exiting`);
    await Promise.all(workers.map((worker) => worker.close()));
    await connection.quit();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
