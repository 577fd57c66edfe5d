/**
 * Choosing the transport from the environment: METRONOME_TRANSPORT = log | celery | bullmq; with it
 * unset, `celery` when BROKER_URL is set, else `log` (the embedded default).
 */
import type { Logger } from 'pino';
import { bullmqConfigFromEnv } from './bullmq/config.ts';
import { loadCelerySettings } from './celery/settings.ts';
import { LogTransport } from './log.ts';
import { type Transport, TransportConfigError } from './transport.ts';

export { type Transport, TransportConfigError } from './transport.ts';

type TransportName = 'log' | 'celery' | 'bullmq';

function transportName(env: NodeJS.ProcessEnv): TransportName {
  const chosen = env.METRONOME_TRANSPORT?.trim();
  if (chosen === 'log' || chosen === 'celery' || chosen === 'bullmq') return chosen;
  if (chosen)
    throw new TransportConfigError(
      `METRONOME_TRANSPORT=${JSON.stringify(chosen)} is invalid: use log, celery or bullmq`,
    );
  return env.BROKER_URL?.trim() ? 'celery' : 'log';
}

/**
 * Check the transport's configuration without connecting to anything, so `beat` refuses a bad
 * BROKER_URL before it opens the database, migrates or syncs. Throws TransportConfigError.
 */
export function checkTransportConfig(env: NodeJS.ProcessEnv): void {
  const name = transportName(env);
  if (name === 'celery') loadCelerySettings(env);
  else if (name === 'bullmq') bullmqConfigFromEnv(env);
}

/** Build the configured transport (connections are opened here; close() closes them). */
export async function createTransport(env: NodeJS.ProcessEnv, log: Logger): Promise<Transport> {
  const name = transportName(env);
  switch (name) {
    case 'log':
      return new LogTransport();
    case 'celery': {
      const { celeryTransportFromEnv } = await import('./celery/transport.ts');
      return celeryTransportFromEnv(env, log);
    }
    case 'bullmq': {
      const { bullmqTransportFromEnv } = await import('./bullmq/transport.ts');
      return bullmqTransportFromEnv(env, log);
    }
  }
}
