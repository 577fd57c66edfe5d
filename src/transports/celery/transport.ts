/**
 * The Celery transport: protocol v2 messages (message.ts) to a Redis or RabbitMQ broker, run state
 * from the Redis result backend. Configuration: settings.ts; the guide: docs/transports.md.
 */
import type { Logger } from 'pino';
import { redactSecrets } from '../../logger.ts';
import { resolveRoute } from '../routes.ts';
import type { EnqueueItem, EnqueueResult, RunState, Transport } from '../transport.ts';
import { AmqpBroker } from './amqp-broker.ts';
import type { Broker } from './broker.ts';
import type { CeleryTaskMessage } from './message.ts';
import { RedisBroker } from './redis-broker.ts';
import { RedisResultBackend } from './result-backend.ts';
import { type CelerySettings, loadCelerySettings } from './settings.ts';

export class CeleryTransport implements Transport {
  readonly name = 'celery';
  readonly #broker: Broker;
  readonly #backend: RedisResultBackend | null;
  readonly #reasons = new Map<string, string>();
  readonly #warnedRoutingKeys = new Set<string>();
  /** Hard time limits of runs enqueued by this process (ms), and when each was first seen STARTED. */
  readonly #limits = new Map<string, number>();
  readonly #startedSince = new Map<string, number>();
  /** Messages built ahead (prepare), by item; the broker holds their encoding. */
  readonly #messages = new WeakMap<EnqueueItem, CeleryTaskMessage>();

  constructor(
    readonly settings: CelerySettings,
    private readonly log: Logger,
  ) {
    this.#broker =
      settings.broker === 'redis'
        ? new RedisBroker(
            settings.brokerUrl,
            { globalKeyprefix: settings.globalKeyprefix, signing: settings.signing },
            log,
          )
        : new AmqpBroker(
            settings.brokerUrl,
            { queues: settings.amqpQueues, maxPriority: settings.amqpMaxPriority, signing: settings.signing },
            log,
          );
    this.#backend = settings.resultBackend ? new RedisResultBackend(settings.resultBackend, log) : null;
  }

  /** The Celery message for an occurrence (routing resolved; on both brokers sent straight to the queue). */
  message(item: EnqueueItem): CeleryTaskMessage {
    const s = this.settings;
    const route = resolveRoute(item.task, item, s.routes, s.defaultQueue);
    if (route.routingKey && route.routingKey !== route.queue) {
      const key = `${route.queue}\u0000${route.routingKey}`;
      if (!this.#warnedRoutingKeys.has(key)) {
        this.#warnedRoutingKeys.add(key);
        this.log.warn(
          { queue: route.queue, routingKey: route.routingKey },
          'routing key ignored: Metronome publishes straight to the queue (default exchange, routing key = queue)',
        );
      }
    }
    return {
      taskId: item.taskId,
      task: item.task,
      args: item.args,
      kwargs: item.kwargs,
      queue: route.queue,
      routingKey: route.queue,
      exchange: '',
      priority: item.priority,
      expiresAt: item.expiresAt,
      timeLimit: item.timeLimitS,
      softTimeLimit: item.softTimeLimitS,
      headers: item.headers,
      origin: s.origin,
      periodicTaskName: item.scheduleName,
      scheduledFor: item.scheduledFor,
    };
  }

  /** Without a result backend nothing tells when a run ends. */
  get tracksRuns(): boolean {
    return this.#backend !== null;
  }

  prepare(items: EnqueueItem[]): void {
    if (!this.#broker.prepare) return;
    const messages = items.map((item) => {
      const msg = this.message(item);
      this.#messages.set(item, msg);
      return msg;
    });
    this.#broker.prepare(messages);
  }

  async enqueue(batch: EnqueueItem[]): Promise<EnqueueResult[]> {
    const errors = await this.#broker.publish(
      batch.map((item) => this.#messages.get(item) ?? this.message(item)),
    );
    return batch.map((item, i) => {
      const error = errors[i];
      if (error) return { taskId: item.taskId, ok: false as const, error: redactSecrets(error) };
      if (item.timeLimitS !== null) remember(this.#limits, item.taskId, item.timeLimitS * 1_000);
      return { taskId: item.taskId, ok: true as const };
    });
  }

  /** Runs the broker still holds (Redis only: see Broker.locate), or the result backend has seen. */
  async locate(items: EnqueueItem[]): Promise<Map<string, 'queued' | 'seen'>> {
    const found = new Map<string, 'queued' | 'seen'>();
    if (this.#broker.locate) {
      for (const id of await this.#broker.locate(items.map((i) => this.message(i)))) found.set(id, 'queued');
    }
    const rest = items.map((i) => i.taskId).filter((id) => !found.has(id));
    if (rest.length > 0 && this.#backend) {
      for (const id of await this.#backend.present(rest)) found.set(id, 'seen');
    }
    return found;
  }

  async status(taskIds: string[]): Promise<Map<string, RunState>> {
    if (!this.#backend) return new Map(taskIds.map((id) => [id, 'unknown' as RunState]));
    const outcomes = await this.#backend.read(taskIds);
    const states = new Map<string, RunState>();
    const now = Date.now();
    for (const [id, outcome] of outcomes) {
      let state = outcome.state;
      const limit = this.#limits.get(id);
      if (state === 'active' && limit !== undefined) {
        // STARTED stays STARTED forever when the worker dies mid-run. Past the hard time limit (which
        // the worker enforces with FAILURE) it cannot be running: stop reporting it active, so its
        // run lock is no longer extended and ends with its run lease.
        const since = this.#startedSince.get(id) ?? now;
        if (!this.#startedSince.has(id)) remember(this.#startedSince, id, since);
        if (since === -1 || now - since > limit + STARTED_GRACE_MS) {
          state = 'unknown';
          if (since !== -1)
            this.log.warn(
              { taskId: id, timeLimitS: limit / 1_000 },
              'celery run still STARTED past its hard time limit: its worker probably died; tracked by its run lease',
            );
          this.#startedSince.set(id, -1); // logged once; stays presumed dead until a final state
        }
      }
      if (outcome.state !== 'active') this.#startedSince.delete(id);
      if (state === 'succeeded' || state === 'failed' || state === 'expired') this.#limits.delete(id);
      states.set(id, state);
      if (outcome.reason) {
        this.#reasons.set(id, outcome.reason);
        if (this.#reasons.size > 10_000) this.#reasons.delete(this.#reasons.keys().next().value as string);
        if (outcome.state === 'failed')
          this.log.warn({ taskId: id, reason: outcome.reason }, 'celery run failed');
      }
    }
    return states;
  }

  /** Why a run failed or was revoked, as the worker recorded it (after status() saw it). */
  finishReason(taskId: string): string | undefined {
    const reason = this.#reasons.get(taskId);
    this.#reasons.delete(taskId);
    return reason;
  }

  async close(): Promise<void> {
    await Promise.all([this.#broker.close(), this.#backend?.close()]);
  }
}

/** How long past its hard time limit a run may still read STARTED before it is presumed dead. */
const STARTED_GRACE_MS = 5_000;

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.set(key, value);
  if (map.size > 100_000) map.delete(map.keys().next().value as string);
}

export async function celeryTransportFromEnv(env: NodeJS.ProcessEnv, log: Logger): Promise<Transport> {
  const settings = loadCelerySettings(env);
  log.info(
    {
      broker: redactSecrets(settings.brokerUrl),
      resultBackend: settings.resultBackend ? redactSecrets(settings.resultBackend) : null,
      defaultQueue: settings.defaultQueue,
      routes: settings.routes.map((r) => r.pattern),
      signing: settings.signing !== null,
      amqpQueues: settings.broker === 'amqp' ? settings.amqpQueues : undefined,
    },
    settings.resultBackend
      ? 'celery transport'
      : 'celery transport without RESULT_BACKEND: runs are tracked by their run lease alone',
  );
  return new CeleryTransport(settings, log);
}
