/**
 * The three schedulers under test, each started as its own process on the bench's Redis: a real
 * Metronome `beat run` (compiled dist/, Celery transport, its own Postgres database), Debian's
 * celery beat with bench_beat.py, and a BullMQ Worker (BullMQ's job schedulers run inside workers).
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import postgres from 'postgres';

export const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(HERE, '..', '..');
const ADMIN_URL = process.env.METRONOME_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const PYTHON = '/usr/bin/python3'; // Debian's, which has Celery 5.2.6

export type Kind = 'metronome' | 'celery-beat' | 'bullmq';

export interface Running {
  /** The process whose CPU and memory are the scheduler's. */
  pid: number;
  /** Postgres backends serving it (Metronome only), for their CPU. */
  backendPids(): Promise<number[]>;
  /** Metronome only: its ledger's occurrences due in [from, to), counted by status. */
  ledger?(from: number, to: number): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function tail(child: ChildProcess, label: string): void {
  let buffered = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    buffered = (buffered + chunk.toString()).slice(-4000);
  });
  child.once('exit', (code, signal) => {
    if (code && code !== 0 && signal === null) console.error(`${label} exited ${code}: ${buffered}`);
  });
}

/** Metronome: K interval schedules (every 1 s, overlap allow) inserted in SQL, then `beat run`. */
export async function startMetronome(k: number, brokerUrl: string): Promise<Running> {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  const name = `metronome_compare_${randomBytes(4).toString('hex')}`;
  await admin.unsafe(`create database ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const env = {
    ...process.env,
    DATABASE_URL: url.toString(),
    METRONOME_TRANSPORT: 'celery',
    BROKER_URL: brokerUrl,
    REDIS_URL: brokerUrl,
    METRONOME_HTTP: 'off',
    METRONOME_SYNC_ON_START: 'false',
    LOG_LEVEL: 'warn',
  };
  const beatJs = join(ROOT, 'bin', 'beat.js');
  const migrate = spawn(process.execPath, [beatJs, 'migrate'], { env, stdio: 'inherit' });
  const [code] = await once(migrate, 'exit');
  if (code !== 0) throw new Error(`beat migrate exited ${code}`);
  const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
  await sql`insert into metronome.schedules (name, task, kind, every_ms, overlap, managed_by)
            select 'm-' || i, 'bench.tick', 'interval', 1000, 'allow', 'db' from generate_series(0, ${k - 1}::int) i`;
  await sql.end();
  const child = spawn(process.execPath, [beatJs, 'run'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  tail(child, 'beat run');
  return {
    pid: child.pid!,
    async backendPids() {
      const rows = await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${name}`;
      return rows.map((r) => r.pid);
    },
    async ledger(from, to) {
      const db = postgres(url.toString(), { max: 1, onnotice: () => {} });
      const rows = await db<{ status: string; n: number }[]>`
        select status, count(*)::int as n from metronome.occurrences
        where scheduled_for >= ${new Date(from)} and scheduled_for < ${new Date(to)} group by status`;
      await db.end();
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    },
    async stop() {
      await stopChild(child);
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end({ timeout: 5 });
    },
  };
}

/** celery beat: bench_beat.py's K entries (every 1 s, or crontab() for the herd), schedule file in a temp dir. */
export async function startCeleryBeat(
  k: number,
  brokerUrl: string,
  mode: 'interval' | 'herd',
): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'compare-celery-beat-'));
  const child = spawn(
    PYTHON,
    [
      '-m',
      'celery',
      '-A',
      'bench_beat',
      'beat',
      '-S',
      'bench_beat.BenchScheduler',
      '-s',
      join(dir, 'schedule'),
      '--pidfile',
      join(dir, 'beat.pid'),
      '--loglevel',
      'WARNING',
    ],
    {
      cwd: HERE,
      env: {
        ...process.env,
        BENCH_K: String(k),
        BENCH_MODE: mode,
        BENCH_BROKER: brokerUrl,
        PYTHONPATH: HERE,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  tail(child, 'celery beat');
  return {
    pid: child.pid!,
    backendPids: async () => [],
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** BullMQ: K job schedulers upserted from here; the worker process (already started) is the scheduler. */
export async function upsertBullmqSchedulers(
  k: number,
  brokerUrl: string,
  repeat: { every: number } | { pattern: string },
  prefix = 'bq',
): Promise<void> {
  const connection = new Redis(brokerUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('compare', { connection, prefix: 'bull' });
  const chunk = 500;
  for (let start = 0; start < k; start += chunk) {
    const ids = Array.from({ length: Math.min(chunk, k - start) }, (_, n) => `${prefix}-${start + n}`);
    await Promise.all(
      ids.map((id) =>
        queue.upsertJobScheduler(id, repeat, {
          name: 'tick',
          data: {},
          opts: { removeOnComplete: true, removeOnFail: true },
        }),
      ),
    );
  }
  await queue.close();
  connection.disconnect();
}

/** The consumer process of a run: the Celery list reader, or the BullMQ worker. */
export function forkConsumer(
  kind: Kind,
  brokerUrl: string,
  extraEnv: Record<string, string> = {},
): ChildProcess {
  const file = kind === 'bullmq' ? 'bullmq-worker.ts' : 'celery-consumer.ts';
  return fork(join(HERE, file), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BENCH_BROKER: brokerUrl, ...extraEnv },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/** The next IPC message of a type from a child. */
export function nextMessage<T>(child: ChildProcess, type: string, timeoutMs = 600_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no '${type}' from the consumer in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onMessage = (m: { type: string }) => {
      if (m.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(m as T);
    };
    child.on('message', onMessage);
  });
}
