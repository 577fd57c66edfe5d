/**
 * Celery on RabbitMQ (AMQP 0-9-1, amqplib): a confirm channel; each message published to the default
 * exchange `''` with the queue as routing key, `mandatory` (an unroutable message comes back as a
 * per-item failure instead of vanishing), and the batch's confirms awaited before answering.
 *
 * Queues are checked once per connection: passively (the default: the queue must exist — declared by
 * the workers — or the item fails with a message naming it), or declared the way Celery declares
 * them (durable, not auto-delete, `x-max-priority` only when configured). A closed connection or
 * channel is noticed and re-opened on the next batch.
 */
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { Logger } from 'pino';
import { redactSecrets } from '../../logger.ts';
import { settlesWithin } from '../../settles-within.ts';
import type { Broker } from './broker.ts';
import { amqpPublishArgs, type CeleryTaskMessage, type SigningKeys } from './message.ts';

export interface AmqpBrokerOptions {
  queues: 'passive' | 'declare';
  maxPriority: number | null;
  signing: SigningKeys | null;
  /** How long to wait for a batch's confirms (ms). */
  confirmTimeoutMs?: number;
}

/** A queue that does not exist (passive mode), or that was declared differently (declare mode). */
class QueueCheckError extends Error {}

interface Open {
  connection: ChannelModel;
  channel: ConfirmChannel;
  /** Queues checked (or declared) on this connection. */
  checked: Set<string>;
  /** correlation ids of messages the broker returned as unroutable, until their confirm. */
  returned: Map<string, string>;
  closed: boolean;
}

export class AmqpBroker implements Broker {
  #open: Open | null = null;
  #opening: Promise<Open> | null = null;

  constructor(
    readonly url: string,
    private readonly options: AmqpBrokerOptions,
    private readonly log: Logger,
  ) {}

  async #connect(): Promise<Open> {
    if (this.#open && !this.#open.closed) return this.#open;
    this.#opening ??= (async () => {
      let connection: ChannelModel;
      try {
        connection = await amqp.connect(this.url, {
          timeout: 3_000,
          clientProperties: { connection_name: 'metronome beat' },
        });
      } catch (error) {
        throw new Error(
          `the Celery broker ${redactSecrets(this.url)} is unreachable: ${(error as Error).message}`,
        );
      }
      const open: Open = {
        connection,
        channel: undefined as unknown as ConfirmChannel,
        checked: new Set(),
        returned: new Map(),
        closed: false,
      };
      const lost = (what: string) => (error?: Error) => {
        if (open.closed) return;
        open.closed = true;
        if (this.#open === open) this.#open = null;
        this.log.warn(
          { err: error?.message },
          `celery broker: RabbitMQ ${what} closed; re-opened on the next enqueue`,
        );
        connection.close().catch(() => {});
      };
      connection.on('error', () => {}); // 'close' follows
      connection.on('close', lost('connection'));
      try {
        open.channel = await connection.createConfirmChannel();
      } catch (error) {
        open.closed = true;
        connection.close().catch(() => {});
        throw error;
      }
      open.channel.on('error', () => {});
      open.channel.on('close', lost('channel'));
      open.channel.on('return', (message) => {
        const id = String(message.properties.correlationId ?? '');
        open.returned.set(id, message.fields.routingKey);
      });
      this.#open = open;
      return open;
    })().finally(() => {
      this.#opening = null;
    });
    return this.#opening;
  }

  /** Check or declare a queue on a channel of its own (a failed check closes the channel it ran on). */
  async #ensureQueue(open: Open, queue: string): Promise<void> {
    if (open.checked.has(queue)) return;
    const channel = await open.connection.createChannel();
    channel.on('error', () => {});
    try {
      if (this.options.queues === 'passive') {
        await channel.checkQueue(queue);
      } else {
        // As Celery declares a queue of its own: a direct exchange of the same name, a durable queue
        // bound to it by its name, x-max-priority only when the workers set task_queue_max_priority.
        await channel.assertExchange(queue, 'direct', { durable: true, autoDelete: false });
        await channel.assertQueue(queue, {
          durable: true,
          autoDelete: false,
          exclusive: false,
          ...(this.options.maxPriority !== null
            ? { arguments: { 'x-max-priority': this.options.maxPriority } }
            : {}),
        });
        await channel.bindQueue(queue, queue, queue);
      }
      open.checked.add(queue);
    } catch (error) {
      const message = (error as Error).message;
      if (this.options.queues === 'passive' && /NOT_FOUND|404/.test(message)) {
        throw new QueueCheckError(
          `RabbitMQ queue "${queue}" does not exist: start a Celery worker consuming it (celery worker -Q ${queue}), ` +
            `declare it (rabbitmqadmin declare queue name=${queue} durable=true), or set METRONOME_AMQP_QUEUES=declare`,
        );
      }
      if (/PRECONDITION_FAILED|406/.test(message)) {
        throw new QueueCheckError(
          `RabbitMQ queue "${queue}" exists with other arguments than Metronome declares (${message}): ` +
            "set METRONOME_AMQP_MAX_PRIORITY to the workers' task_queue_max_priority, or use METRONOME_AMQP_QUEUES=passive",
        );
      }
      throw error;
    } finally {
      await channel.close().catch(() => {});
    }
  }

  async publish(messages: CeleryTaskMessage[]): Promise<Array<string | null>> {
    const errors: Array<string | null> = messages.map(() => null);
    const open = await this.#connect();
    const queueErrors = new Map<string, string>();
    for (const queue of new Set(messages.map((m) => m.queue))) {
      try {
        await this.#ensureQueue(open, queue);
      } catch (error) {
        if (!(error instanceof QueueCheckError) && open.closed) throw error;
        queueErrors.set(queue, (error as Error).message);
      }
    }
    const confirms: Array<Promise<void>> = [];
    const sent: Array<{ i: number; id: string }> = [];
    messages.forEach((msg, i) => {
      const queueError = queueErrors.get(msg.queue);
      if (queueError) {
        errors[i] = queueError;
        return;
      }
      try {
        const args = amqpPublishArgs(
          { ...msg, exchange: '', routingKey: msg.queue },
          this.options.signing ? { signing: this.options.signing } : {},
        );
        confirms.push(
          new Promise<void>((resolve) => {
            open.channel.publish(
              args.exchange,
              args.routingKey,
              args.content,
              { ...args.options, mandatory: true },
              (err: unknown) => {
                if (err)
                  errors[i] =
                    `RabbitMQ did not confirm the message: ${String((err as Error)?.message ?? err)}`;
                resolve();
              },
            );
          }),
        );
        sent.push({ i, id: msg.taskId });
      } catch (error) {
        errors[i] = (error as Error).message;
      }
    });
    if (confirms.length > 0) {
      const timeoutMs = this.options.confirmTimeoutMs ?? 10_000;
      if (!(await settlesWithin(Promise.all(confirms), timeoutMs))) {
        // Unknown whether the broker has them: close, so the next batch starts on a fresh channel.
        open.connection.close().catch(() => {});
        for (const { i } of sent) errors[i] ??= `no confirm from RabbitMQ within ${timeoutMs} ms`;
      }
      for (const { i, id } of sent) {
        const routingKey = open.returned.get(id);
        if (routingKey !== undefined) {
          open.returned.delete(id);
          open.checked.delete(routingKey);
          errors[i] =
            `RabbitMQ returned the message as unroutable: no queue "${routingKey}" (is it declared?)`;
        }
      }
    }
    return errors;
  }

  async close(): Promise<void> {
    const open = this.#open;
    this.#open = null;
    if (open && !open.closed) {
      open.closed = true;
      await open.connection.close().catch(() => {});
    }
  }
}
