import type { Logger } from 'pino';
import { type Transport, TransportConfigError } from '../transport.ts';

/** Placeholder until the Celery transport lands. */
export async function celeryTransportFromEnv(_env: NodeJS.ProcessEnv, _log: Logger): Promise<Transport> {
  throw new TransportConfigError('the celery transport is not built yet');
}
