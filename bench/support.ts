/**
 * What the in-process benches (dispatch-lag, steady-lag, herd) share: a migrated database of their
 * own on the local Postgres, the beat's settings as `beat run` defaults them, and Redis clean-up.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import postgres from 'postgres';
import type { BeatOptions } from '../src/beat/runtime.ts';
import { loadRuntimeSettings } from '../src/beat/settings.ts';
import { type Database, openDatabase } from '../src/db/database.ts';
import { migrateDatabase } from '../src/db/migrate.ts';

export const ADMIN_URL = process.env.METRONOME_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  id: string;
  url: string;
  /** The beat's pool and its lease connection (one connection, as `beat run` opens it). */
  database: Database;
  leaseDb: Database;
  /** A client of the bench's own, for set-up and reading the ledger. */
  sql: postgres.Sql;
  /** Database time, ms since the epoch. */
  now(): Promise<number>;
  /** Close every connection and drop the database. */
  drop(): Promise<void>;
}

export async function benchDatabase(prefix: string): Promise<BenchDatabase> {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  const id = randomBytes(4).toString('hex');
  const name = `metronome_${prefix}_${id}`;
  await admin.unsafe(`create database ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString(), dataDir: '' });
  const leaseDb = await openDatabase({ databaseUrl: url.toString(), dataDir: '', poolSize: 1 });
  await migrateDatabase(database);
  const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
  return {
    id,
    url: url.toString(),
    database,
    leaseDb,
    sql,
    async now() {
      const [row] = await sql<{ ms: number }[]>`
        select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms`;
      return Number(row?.ms);
    },
    async drop() {
      await sql.end();
      await leaseDb.close();
      await database.close();
      await admin.unsafe(`drop database ${name} with (force)`);
      await admin.end();
    },
  };
}

/** The beat's timing settings as `beat run` defaults them (batch size from METRONOME_BATCH_SIZE). */
export const BEAT_DEFAULTS = {
  group: 'default',
  leaseTtlMs: 10_000,
  graceMs: 5_000,
  batchSize: Number(process.env.METRONOME_BATCH_SIZE ?? 1000),
  // The claim lookahead as `beat run` reads it (METRONOME_CLAIM_AHEAD, default 2 s).
  claimAheadMs: loadRuntimeSettings().claimAheadMs,
  catchupRatePerSecond: 50,
  reconcileMs: 30_000,
  trackMs: 1_000,
  maxSleepMs: 1_000,
} satisfies Partial<BeatOptions>;

/** Delete every key matching `pattern` (SCAN, never KEYS). */
export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 10_000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
