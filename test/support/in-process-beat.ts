/** A beat runtime inside the test process, on real Postgres and real run locks. */
import { Writable } from 'node:stream';
import { BeatMetrics } from '../../src/beat/metrics.ts';
import { Beat, type BeatOptions } from '../../src/beat/runtime.ts';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';
import { createRunLocks, type RunLocks } from '../../src/locks/index.ts';
import { createLogger } from '../../src/logger.ts';
import type { Transport } from '../../src/transports/transport.ts';

export interface InProcessBeat {
  beat: Beat;
  database: Database;
  metrics: BeatMetrics;
  locks: RunLocks;
  /** The beat's log lines (parsed), when started with `captureLogs`. */
  logs: Array<Record<string, unknown> & { msg: string; at: number }>;
  stop(): Promise<void>;
}

export async function startInProcessBeat(
  databaseUrl: string,
  transport: Transport,
  options: {
    redisUrls?: string[];
    lockPrefix?: string;
    /** The lease connection's URL (default databaseUrl): e.g. through a proxy the test can cut. */
    leaseUrl?: string;
    captureLogs?: boolean;
  } & Partial<BeatOptions> = {},
): Promise<InProcessBeat> {
  const database = await openDatabase({ databaseUrl, dataDir: '' });
  await migrateDatabase(database);
  const leaseDb = await openDatabase({
    databaseUrl: options.leaseUrl ?? databaseUrl,
    dataDir: '',
    poolSize: 1,
  });
  const locks = createRunLocks({ redisUrls: options.redisUrls ?? [], prefix: options.lockPrefix });
  const metrics = new BeatMetrics({ processMetrics: false });
  const logs: InProcessBeat['logs'] = [];
  const log = options.captureLogs
    ? createLogger({ level: 'info', destination: collect(logs) })
    : createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const beat = new Beat({
    database,
    leaseConnection: leaseDb,
    transport,
    locks,
    log,
    metrics,
    group: 'default',
    leaseTtlMs: 2_000,
    graceMs: 1_000,
    batchSize: 500,
    catchupRatePerSecond: 50,
    reconcileMs: 5_000,
    trackMs: 200,
    maxSleepMs: 500,
    ...options,
  });
  await beat.start();
  return {
    beat,
    database,
    metrics,
    locks,
    logs,
    async stop() {
      await beat.stop();
      await locks.close();
      await leaseDb.close();
      await database.close();
    },
  };
}

function collect(into: InProcessBeat['logs']): Writable {
  return new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) {
        if (line.trim()) into.push({ ...(JSON.parse(line) as { msg: string }), at: Date.now() });
      }
      done();
    },
  });
}
