/**
 * The environment of a real `beat run` child in a test, and starting one: quick leader leases (2 s),
 * no HTTP server, no declarations sync on start, in-process run locks (no REDIS_URL) unless the test
 * gives its own. Celery tests add their broker, result backend and a 250 ms run-state poll.
 */
import { BeatProcess, STARTUP_MS } from './beat-process.ts';

export function beatEnv(databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    METRONOME_LEASE_TTL: '2s',
    METRONOME_HTTP: 'off',
    METRONOME_SYNC_ON_START: 'false',
    REDIS_URL: '',
    ...extra,
  };
}

/** A beat publishing to Celery on `broker` (Redis or RabbitMQ URL), reading run states from `backend`. */
export function celeryBeatEnv(
  databaseUrl: string,
  { broker, backend }: { broker: string; backend: string },
  extra: Record<string, string> = {},
): Record<string, string> {
  return beatEnv(databaseUrl, {
    METRONOME_TRACK_INTERVAL: '250ms',
    METRONOME_TRANSPORT: 'celery',
    BROKER_URL: broker,
    RESULT_BACKEND: backend,
    ...extra,
  });
}

/** `beat run` with `env`, once it leads (15 s at the most). */
export async function startLeadingBeat(env: Record<string, string>, label = 'beat'): Promise<BeatProcess> {
  const beat = new BeatProcess(label, env);
  try {
    await beat.waitForLog('leading', STARTUP_MS);
  } catch (error) {
    await beat.stop();
    throw error;
  }
  return beat;
}
