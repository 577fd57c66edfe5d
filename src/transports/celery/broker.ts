import type { CeleryTaskMessage } from './message.ts';

/** Where Celery messages go: Redis or RabbitMQ. */
export interface Broker {
  /**
   * Publish a batch; one entry per message, in order: null when the broker has it, else why not.
   * Throws when nothing could be sent (broker unreachable).
   */
  publish(messages: CeleryTaskMessage[]): Promise<Array<string | null>>;
  /**
   * Encode these messages ahead of their publish, as far as the send does not decide (optional):
   * publish of the same message objects then only finishes them. A message that does not encode is
   * left to publish, which reports it.
   */
  prepare?(messages: CeleryTaskMessage[]): void;
  /**
   * The task ids of these messages that the broker still holds (queued, or with a worker and not
   * acknowledged). Only brokers whose queues can be read have it (Redis; not RabbitMQ).
   */
  locate?(messages: CeleryTaskMessage[]): Promise<Set<string>>;
  close(): Promise<void>;
}
