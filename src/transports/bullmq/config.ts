/** The BullMQ transport's settings from the environment (documented in .env.example). */
import { shownEnvValue, urlFormProblem } from '../../config.ts';
import { parseDuration, ScheduleSpecError } from '../../time/index.ts';
import { parseRoutes, type Route } from '../routes.ts';
import { TransportConfigError } from '../transport.ts';

export interface BullmqConfig {
  /** Redis holding the queues: METRONOME_BULLMQ_URL, else REDIS_URL. */
  url: string;
  /** BullMQ's key prefix (`prefix` of Queue and Worker): METRONOME_BULLMQ_PREFIX, default `bull`. */
  prefix: string;
  /** The queue of schedules that name none and match no route: METRONOME_DEFAULT_QUEUE, default `metronome`. */
  defaultQueue: string;
  /** Celery-style `task_routes` (glob on the task name → queue): METRONOME_TASK_ROUTES, shared with Celery. */
  routes?: Route[];
  /** Longest an enqueue or a status read may take before it counts as failed: METRONOME_BULLMQ_TIMEOUT, default 5s. */
  timeoutMs: number;
}

const DEFAULT_PREFIX = 'bull';
const DEFAULT_QUEUE = 'metronome';
const DEFAULT_TIMEOUT_MS = 5_000;

const value = (env: NodeJS.ProcessEnv, key: string): string | undefined => {
  const v = env[key]?.trim();
  return v ? v : undefined;
};

export function bullmqConfigFromEnv(env: NodeJS.ProcessEnv): BullmqConfig {
  const url = value(env, 'METRONOME_BULLMQ_URL') ?? value(env, 'REDIS_URL');
  if (!url) {
    throw new TransportConfigError(
      'METRONOME_TRANSPORT=bullmq needs a Redis server for the queues: set METRONOME_BULLMQ_URL (or REDIS_URL), e.g. redis://127.0.0.1:6379/0',
    );
  }
  const urlKey = value(env, 'METRONOME_BULLMQ_URL') ? 'METRONOME_BULLMQ_URL' : 'REDIS_URL';
  const problem = /^rediss?:\/\//.test(url) ? urlFormProblem(url) : 'must start with redis:// or rediss://';
  if (problem) throw new TransportConfigError(`${urlKey}=${shownEnvValue(urlKey, url)}: ${problem}`);
  const prefix = value(env, 'METRONOME_BULLMQ_PREFIX') ?? DEFAULT_PREFIX;
  const defaultQueue = value(env, 'METRONOME_DEFAULT_QUEUE') ?? DEFAULT_QUEUE;
  checkQueueName(defaultQueue, 'METRONOME_DEFAULT_QUEUE');
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  const timeout = value(env, 'METRONOME_BULLMQ_TIMEOUT');
  if (timeout) {
    try {
      timeoutMs = parseDuration(
        /^\d+$/.test(timeout) ? Number(timeout) : timeout,
        'METRONOME_BULLMQ_TIMEOUT',
      );
    } catch (error) {
      throw new TransportConfigError(
        `METRONOME_BULLMQ_TIMEOUT=${JSON.stringify(timeout)}: ${error instanceof ScheduleSpecError ? error.reason : String(error)}`,
      );
    }
    if (timeoutMs < 100)
      throw new TransportConfigError(`METRONOME_BULLMQ_TIMEOUT=${JSON.stringify(timeout)}: at least 100ms`);
  }
  let routes: Route[] = [];
  const routesText = value(env, 'METRONOME_TASK_ROUTES');
  if (routesText) {
    try {
      routes = parseRoutes(routesText);
    } catch (error) {
      throw new TransportConfigError(
        `METRONOME_TASK_ROUTES=${JSON.stringify(routesText)}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    for (const route of routes) checkQueueName(route.queue, `METRONOME_TASK_ROUTES "${route.pattern}"`);
  }
  return { url, prefix, defaultQueue, routes, timeoutMs };
}

/** BullMQ refuses queue names with `:` (its key separator). */
export function checkQueueName(name: string, where: string): void {
  if (name.includes(':'))
    throw new TransportConfigError(
      `${where}: BullMQ queue names cannot contain ":" (got ${JSON.stringify(name)})`,
    );
}
