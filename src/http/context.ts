/** What every dashboard and API handler gets: the request, and the process's shared parts. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import type { RunLocks } from '../locks/index.ts';
import type { ForecastCache } from '../observe/forecast.ts';
import type { LiveHub } from './live.ts';

export interface AppContext {
  database: Database;
  /** The process's run locks, to say whether a schedule's lock is held; null when there are none. */
  locks: RunLocks | null;
  group: string;
  /** METRONOME_API_TOKEN; undefined: read-only. */
  token: string | undefined;
  hub: LiveHub;
  forecast: ForecastCache;
  log: Logger;
  /** A replica seen within this is alive. */
  replicaAliveMs: number;
  /** Whether reads need the token (METRONOME_API_READS); mutations always do. */
  reads: 'open' | 'token';
}

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The decoded path parameters (a schedule's name). */
  params: string[];
  app: AppContext;
}

export type Handler = (exchange: Exchange) => Promise<void>;
