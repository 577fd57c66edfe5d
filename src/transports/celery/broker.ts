import type { CeleryTaskMessage } from './message.ts';

/** Where Celery messages go: Redis or RabbitMQ. */
export interface Broker {
  /**
   * Publish a batch; one entry per message, in order: null when the broker has it, else why not.
   * Throws when nothing could be sent (broker unreachable).
   */
  publish(messages: CeleryTaskMessage[]): Promise<Array<string | null>>;
  close(): Promise<void>;
}
