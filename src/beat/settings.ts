/**
 * The runtime's settings from the environment (documented in .env.example). Separate from the
 * database settings in config.ts so commands that never run the beat do not validate them.
 */
import { z } from 'zod';
import {
  blank,
  ConfigError,
  checkUrlListForm,
  connectionUrl,
  duration,
  listenAddressProblem,
  parseEnv,
} from '../config.ts';

const count = (fallback: number, min: number, max: number) =>
  z.preprocess(blank, z.coerce.number().int().min(min).max(max).default(fallback));

const schema = z.object({
  REDIS_URL: z.preprocess(
    blank,
    connectionUrl(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
  ),
  METRONOME_LOCK_REDIS_URLS: z.preprocess(
    blank,
    z
      .string()
      .refine(
        (urls) =>
          urls
            .split(',')
            .map((u) => u.trim())
            .filter(Boolean)
            .every((u) => /^rediss?:\/\//.test(u)),
        'every URL must start with redis:// or rediss:// (comma-separated, one per independent Redis server)',
      )
      .superRefine(checkUrlListForm)
      .optional(),
  ),
  METRONOME_LOCK_PREFIX: z.preprocess(blank, z.string().default('metronome:runlock:')),
  METRONOME_GROUP: z.preprocess(blank, z.string().min(1).default('default')),
  METRONOME_LEASE_TTL: duration('10s', 1_000),
  METRONOME_MISFIRE_GRACE: duration('5s', 0),
  METRONOME_CATCHUP_RATE: count(50, 1, 100_000),
  METRONOME_BATCH_SIZE: count(1000, 1, 10_000),
  METRONOME_CLAIM_AHEAD: duration('2s', 0),
  METRONOME_RECONCILE_INTERVAL: duration('30s', 1_000),
  METRONOME_HORIZON: duration('5m', 10_000),
  METRONOME_TRACK_INTERVAL: duration('1s', 100),
  METRONOME_MAX_RUN_HOLD: duration('24h', 1_000),
  METRONOME_HISTORY_RETENTION: duration('30d', 60_000),
  METRONOME_HISTORY_PER_SCHEDULE: count(10_000, 1, 100_000_000),
  METRONOME_PRUNE_INTERVAL: duration('10m', 1_000),
  METRONOME_HTTP: z
    .preprocess(blank, z.string().default('127.0.0.1:9464'))
    .transform((text) => text.trim())
    .superRefine((text, ctx) => {
      const problem = text === 'off' ? null : listenAddressProblem(text);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  METRONOME_LIVENESS_TIMEOUT: duration('30s', 1_000),
  METRONOME_STOP_TIMEOUT: duration('10s', 1_000),
  METRONOME_SCHEDULES_DIR: z.preprocess(blank, z.string().default('schedules')),
  METRONOME_SYNC_ON_START: z.preprocess(blank, z.enum(['true', 'false', 'auto']).default('auto')),
});

export interface RuntimeSettings {
  /** Redis servers for run locks: one, or several independent ones for a Redlock quorum; none = in-process. */
  lockRedisUrls: string[];
  lockPrefix: string;
  group: string;
  leaseTtlMs: number;
  graceMs: number;
  catchupRatePerSecond: number;
  batchSize: number;
  /** How long before its instant an occurrence is claimed (term.ts, claimed-ahead.ts). */
  claimAheadMs: number;
  reconcileMs: number;
  /** How far ahead the leader holds schedules in memory. */
  horizonMs: number;
  trackMs: number;
  /** Longest a run with no hard time limit keeps its schedule's run lock by looking active. */
  maxRunHoldMs: number;
  /** Finished occurrences older than this are deleted, and at most this many kept per schedule. */
  historyRetentionMs: number;
  historyPerSchedule: number;
  pruneIntervalMs: number;
  /** host:port, or 'off'. */
  http: string;
  /** /healthz fails when a leader's tick loop or the event loop stalls longer than this. */
  livenessTimeoutMs: number;
  /** SIGTERM to exit, at most: a stuck tick is waited for half of it, then the lease is handed over. */
  stopTimeoutMs: number;
  schedulesDir: string;
  syncOnStart: 'true' | 'false' | 'auto';
}

export function loadRuntimeSettings(env: NodeJS.ProcessEnv = process.env): RuntimeSettings {
  const e = parseEnv(schema, env);
  if (e.METRONOME_CLAIM_AHEAD * 2 > e.METRONOME_HORIZON) {
    // A claim held for its instant must name a schedule the book still reads (docs/runtime.md).
    throw new ConfigError(
      'invalid configuration: METRONOME_CLAIM_AHEAD must be at most half of METRONOME_HORIZON (see .env.example)',
    );
  }
  const lockRedisUrls = e.METRONOME_LOCK_REDIS_URLS
    ? e.METRONOME_LOCK_REDIS_URLS.split(',')
        .map((u) => u.trim())
        .filter(Boolean)
    : e.REDIS_URL
      ? [e.REDIS_URL]
      : [];
  return {
    lockRedisUrls,
    lockPrefix: e.METRONOME_LOCK_PREFIX,
    group: e.METRONOME_GROUP,
    leaseTtlMs: e.METRONOME_LEASE_TTL,
    graceMs: e.METRONOME_MISFIRE_GRACE,
    catchupRatePerSecond: e.METRONOME_CATCHUP_RATE,
    batchSize: e.METRONOME_BATCH_SIZE,
    claimAheadMs: e.METRONOME_CLAIM_AHEAD,
    reconcileMs: e.METRONOME_RECONCILE_INTERVAL,
    horizonMs: e.METRONOME_HORIZON,
    trackMs: e.METRONOME_TRACK_INTERVAL,
    maxRunHoldMs: e.METRONOME_MAX_RUN_HOLD,
    historyRetentionMs: e.METRONOME_HISTORY_RETENTION,
    historyPerSchedule: e.METRONOME_HISTORY_PER_SCHEDULE,
    pruneIntervalMs: e.METRONOME_PRUNE_INTERVAL,
    http: e.METRONOME_HTTP,
    livenessTimeoutMs: e.METRONOME_LIVENESS_TIMEOUT,
    stopTimeoutMs: e.METRONOME_STOP_TIMEOUT,
    schedulesDir: e.METRONOME_SCHEDULES_DIR,
    syncOnStart: e.METRONOME_SYNC_ON_START,
  };
}
