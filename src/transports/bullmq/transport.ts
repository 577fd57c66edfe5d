import type { Logger } from 'pino';
import { type Transport, TransportConfigError } from '../transport.ts';

/** Placeholder until the BullMQ transport lands. */
export async function bullmqTransportFromEnv(_env: NodeJS.ProcessEnv, _log: Logger): Promise<Transport> {
  throw new TransportConfigError('the bullmq transport is not built yet');
}
