/**
 * `connect()` as the package exports it: the client and its database drivers are loaded on the
 * first call, so a `schedules/*.ts` file that imports `crontab` from 'metronome' loads none of it.
 */
import type { ConnectOptions, MetronomeClient } from './client.ts';

/** Open a client on a Postgres URL (default `DATABASE_URL`), or on the application's own connection. */
export async function connect(options: ConnectOptions = {}): Promise<MetronomeClient> {
  const { openClient } = await import('./client.ts');
  return openClient(options);
}
