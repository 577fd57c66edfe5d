/**
 * Run state from Celery's Redis result backend: `celery-task-meta-<task id>` in the backend URL's DB
 * (Celery 5.2 does not apply the broker's `global_keyprefix` to result keys), read with one MGET per
 * poll. `PENDING` is never stored: no key means queued, held by a worker without
 * `task_track_started`, lost, or never picked up.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RunState } from '../transport.ts';
import { failFastRedis, ready } from './redis-connection.ts';

const TASK_META_PREFIX = 'celery-task-meta-';

export interface RunOutcome {
  state: RunState;
  /** For a failure or a revoke: the exception, e.g. `NotRegistered('tasks.nope')`. */
  reason?: string;
}

/** Celery's stored state → the runtime's. REVOKED on a periodic run is nearly always `expires`. */
function mapCeleryStatus(status: string): RunState {
  switch (status) {
    case 'SUCCESS':
      return 'succeeded';
    case 'FAILURE':
      return 'failed';
    case 'REVOKED':
      return 'expired';
    case 'STARTED':
    case 'RETRY':
    case 'RECEIVED':
      return 'active';
    default:
      return 'queued';
  }
}

function parseTaskMeta(raw: string | null): RunOutcome {
  // No key: queued, held by a worker, lost with a killed worker, or expired — Celery cannot tell
  // which, so neither can we (a lost run must not hold its schedule's lock as if it were queued).
  if (raw === null) return { state: 'unknown' };
  let meta: { status?: unknown; result?: unknown };
  try {
    meta = JSON.parse(raw);
  } catch {
    return { state: 'unknown' };
  }
  const state = mapCeleryStatus(String(meta.status ?? ''));
  if (state === 'failed' || state === 'expired') {
    const result = meta.result as { exc_type?: unknown; exc_message?: unknown } | null;
    if (result && typeof result === 'object' && typeof result.exc_type === 'string') {
      const message = Array.isArray(result.exc_message)
        ? result.exc_message.map((m) => JSON.stringify(m)).join(', ')
        : JSON.stringify(result.exc_message ?? '');
      return { state, reason: `${result.exc_type}(${message})` };
    }
    return { state, reason: `${String(meta.status)}` };
  }
  return { state };
}

export class RedisResultBackend {
  readonly #client: Redis;

  constructor(
    readonly url: string,
    log: Logger,
  ) {
    this.#client = failFastRedis(url, log, 'celery result backend');
  }

  async read(taskIds: string[]): Promise<Map<string, RunOutcome>> {
    const out = new Map<string, RunOutcome>();
    if (taskIds.length === 0) return out;
    await ready(this.#client, this.url, 'the Celery result backend');
    for (let start = 0; start < taskIds.length; start += 1_000) {
      const ids = taskIds.slice(start, start + 1_000);
      const values = await this.#client.mget(ids.map((id) => `${TASK_META_PREFIX}${id}`));
      ids.forEach((id, i) => {
        out.set(id, parseTaskMeta(values[i] ?? null));
      });
    }
    return out;
  }

  /** Task ids with a stored result (any state): a worker has seen them. */
  async present(taskIds: string[]): Promise<Set<string>> {
    const outcomes = await this.read(taskIds);
    const present = new Set<string>();
    for (const [id, outcome] of outcomes) if (outcome.state !== 'unknown') present.add(id);
    return present;
  }

  async close(): Promise<void> {
    this.#client.disconnect();
  }
}
