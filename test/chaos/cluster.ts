/**
 * The processes of a chaos run and the handles to hurt them: a Postgres database of its own, three
 * run-lock Redis servers (a Redlock quorum), a broker Redis reached by the beats through a TCP proxy
 * (so it can be cut for them alone), a result-backend Redis, real Celery workers and real `beat`
 * processes. Every Redis server is the run's own (never the machine's shared one).
 *
 * Everything the harness does to a process is written to `events` with the time it did it: the
 * invariants use them (when a leader was killed or frozen) and the report cites them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { CeleryWorker } from '../support/celery-worker.ts';
import { BEAT, ROOT } from '../support/cli.ts';
import { createMigratedDatabase } from '../support/migrated.ts';
import type { TestDatabase } from '../support/pg.ts';
import { RedisServerProcess } from '../support/redis.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { CHAOS_WORKER_APP } from './worker-app.ts';

/** The harness's own Postgres connections carry this name, so `terminate-pg` spares them. */
export const HARNESS_APP = 'metronome-chaos';

export interface ClusterEvent {
  /** Epoch ms (this machine's clock, which the beats, workers and Postgres share). */
  t: number;
  kind: string;
  detail: string;
  /** The beat or worker slot concerned, if any. */
  slot?: number;
  pid?: number;
}

export interface ClusterOptions {
  dir: string;
  ttlMs: number;
  beats: number;
  workers: number;
  /** Extra environment for the beats. */
  env?: Record<string, string>;
}

export interface BeatSlot {
  index: number;
  incarnation: number;
  child: ChildProcess | undefined;
  pid: number | undefined;
  logFile: string;
  stopped: boolean;
  /** The harness sent it SIGKILL or SIGTERM: its exit is no crash. */
  stopping: boolean;
  exited: Promise<void>;
}

export class Cluster {
  readonly events: ClusterEvent[] = [];
  readonly beats: BeatSlot[] = [];
  readonly workers: Array<CeleryWorker | undefined> = [];
  /** Every worker main pid ever started, by slot: records name their worker by `ppid`. */
  readonly workerPids = new Map<number, number>();
  readonly recordFile: string;
  readonly logFiles: string[] = [];
  /** Set by teardown: a fault still in progress starts nothing after it. */
  #closed = false;

  private constructor(
    readonly o: ClusterOptions,
    readonly db: TestDatabase,
    readonly sql: postgres.Sql,
    readonly database: Database,
    readonly locks: RedisServerProcess[],
    readonly broker: RedisServerProcess,
    readonly backend: RedisServerProcess,
    readonly proxy: TcpProxy,
  ) {
    this.recordFile = path.join(o.dir, 'worker-records.jsonl');
  }

  static async start(o: ClusterOptions): Promise<Cluster> {
    const db = await createMigratedDatabase();
    const url = new URL(db.url);
    url.searchParams.set('application_name', HARNESS_APP);
    const sql = postgres(url.toString(), { max: 4, onnotice: () => {} });
    const locks = await Promise.all([0, 1, 2].map(() => RedisServerProcess.start()));
    const broker = await RedisServerProcess.start();
    const backend = await RedisServerProcess.start();
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: broker.port });
    const database = await openDatabase({ databaseUrl: url.toString(), dataDir: o.dir });
    return new Cluster(o, db, sql, database, locks, broker, backend, proxy);
  }

  note(kind: string, detail: string, extra: Partial<ClusterEvent> = {}): ClusterEvent {
    const event = { t: Date.now(), kind, detail, ...extra };
    this.events.push(event);
    return event;
  }

  get beatEnv(): Record<string, string> {
    return {
      DATABASE_URL: this.db.url,
      REDIS_URL: '',
      METRONOME_LOCK_REDIS_URLS: this.locks.map((l) => l.url).join(','),
      METRONOME_LOCK_PREFIX: 'chaos:runlock:',
      METRONOME_TRANSPORT: 'celery',
      BROKER_URL: `redis://127.0.0.1:${this.proxy.port}/0`,
      RESULT_BACKEND: `${this.backend.url}/0`,
      METRONOME_LEASE_TTL: `${this.o.ttlMs}ms`,
      METRONOME_HTTP: 'off',
      METRONOME_SYNC_ON_START: 'false',
      // debug: the runs check counts the per-run 'enqueued' lines (logged at debug only).
      LOG_LEVEL: 'debug',
      ...this.o.env,
    };
  }

  // --- beats -----------------------------------------------------------------------------------------

  startBeat(index: number): BeatSlot | undefined {
    if (this.#closed) return undefined;
    const previous = this.beats[index];
    const incarnation = (previous?.incarnation ?? 0) + 1;
    const logFile = path.join(this.o.dir, `beat-${index}.${incarnation}.log`);
    this.logFiles.push(logFile);
    const fd = openSync(logFile, 'a');
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.beatEnv };
    const child = spawn(process.execPath, [BEAT, 'run'], { cwd: ROOT, env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const slot: BeatSlot = {
      index,
      incarnation,
      child,
      pid: child.pid,
      logFile,
      stopped: false,
      stopping: false,
      exited: once(child, 'exit').then(([code, signal]) => {
        this.note('beat-exit', `beat ${index} exited (${signal ?? `code ${code}`})`, {
          slot: index,
          pid: child.pid,
        });
        slot.child = undefined;
        if (!slot.stopping) this.#crashed(slot, String(signal ?? `code ${code}`));
      }),
    };
    this.beats[index] = slot;
    this.note('beat-start', `beat ${index} started (incarnation ${incarnation})`, {
      slot: index,
      pid: child.pid,
    });
    return slot;
  }

  /**
   * A beat that exited without being told to crashed: that is a finding (the `crash` row), and,
   * as a supervisor (Kubernetes) would, the harness starts it again a second later so the run keeps
   * three beats.
   */
  #crashed(slot: BeatSlot, how: string): void {
    this.note(
      'beat-crash',
      `beat ${slot.index} exited on its own (${how}); see ${path.basename(slot.logFile)}`,
      {
        slot: slot.index,
        pid: slot.pid,
      },
    );
    setTimeout(() => {
      if (this.beats[slot.index] === slot) this.startBeat(slot.index);
    }, 1_000);
  }

  alive(index: number): boolean {
    return this.beats[index]?.child !== undefined;
  }

  signalBeat(index: number, signal: NodeJS.Signals, kind: string): void {
    const slot = this.beats[index];
    if (!slot?.child) return;
    this.note(kind, `${signal} to beat ${index}`, { slot: index, pid: slot.pid });
    if (signal === 'SIGKILL' || signal === 'SIGTERM') slot.stopping = true;
    slot.child.kill(signal);
    if (signal === 'SIGSTOP') slot.stopped = true;
    if (signal === 'SIGCONT') slot.stopped = false;
  }

  /** SIGTERM and wait for the exit (SIGKILL after 15 s: a hand-over must not hang). */
  async terminateBeat(index: number): Promise<void> {
    const slot = this.beats[index];
    if (!slot?.child) return;
    if (slot.stopped) this.signalBeat(index, 'SIGCONT', 'beat-cont');
    this.signalBeat(index, 'SIGTERM', 'beat-term');
    const timer = setTimeout(() => {
      this.note('beat-kill', `beat ${index} did not exit 15 s after SIGTERM: SIGKILL`, { slot: index });
      slot.child?.kill('SIGKILL');
    }, 15_000);
    await slot.exited;
    clearTimeout(timer);
  }

  /** The beat slot whose process holds an unexpired lease right now, if any. */
  async leader(): Promise<BeatSlot | undefined> {
    const [row] = await this.sql<{ holder: string | null; valid: boolean }[]>`
      select holder, coalesce(expires_at > clock_timestamp(), false) as valid
      from metronome.leader where grp = 'default'`;
    if (!row?.holder || !row.valid) return undefined;
    const pid = Number(/:(\d+):[0-9a-f]{8}$/.exec(row.holder)?.[1]);
    return this.beats.find((b) => b.child !== undefined && b.pid === pid && !b.stopped);
  }

  // --- workers ---------------------------------------------------------------------------------------

  async startWorker(index: number): Promise<void> {
    if (this.#closed) return;
    const worker = await CeleryWorker.start({
      broker: `${this.broker.url}/0`,
      backend: `${this.backend.url}/0`,
      // Three processes each: the exclusion groups' and the long specials' runs keep about two of
      // them sleeping, and the rest must keep the queue wait under the `load` bound.
      concurrency: 3,
      pool: 'prefork',
      recordFile: this.recordFile,
      app: CHAOS_WORKER_APP,
    });
    if (this.#closed) {
      worker.kill();
      return;
    }
    this.workers[index] = worker;
    this.workerPids.set(worker.child.pid as number, index);
    this.note('worker-start', `worker ${index} started`, { slot: index, pid: worker.child.pid });
  }

  killWorker(index: number): void {
    const worker = this.workers[index];
    if (!worker) return;
    this.note('worker-kill', `kill -9 of worker ${index} (its whole process group)`, {
      slot: index,
      pid: worker.child.pid,
    });
    worker.kill();
    this.workers[index] = undefined;
  }

  // --- servers ---------------------------------------------------------------------------------------

  redis(target: string): RedisServerProcess {
    if (target === 'broker') return this.broker;
    const server = this.locks[Number(target.replace('lock-', ''))];
    if (!server) throw new Error(`no Redis server ${target}`);
    return server;
  }

  /** Terminate every backend on the run's database except the harness's own. */
  async terminateBeatConnections(): Promise<number> {
    const rows = await this.sql<{ pid: number }[]>`
      select pid from pg_stat_activity
      where datname = ${this.db.name} and pid <> pg_backend_pid()
        and coalesce(application_name, '') <> ${HARNESS_APP}`;
    for (const { pid } of rows) await this.sql`select pg_terminate_backend(${pid})`;
    return rows.length;
  }

  async dbNow(): Promise<number> {
    const [row] = await this.sql<{ ms: number }[]>`
      select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms`;
    return Math.floor(Number(row?.ms));
  }

  /** Stop everything; the database is dropped unless `keepDatabase`. */
  async teardown(keepDatabase: boolean): Promise<void> {
    this.#closed = true;
    await Promise.all(this.beats.map((b) => this.terminateBeat(b.index).catch(() => {})));
    await Promise.all(this.workers.map((w) => w?.stop().catch(() => {})));
    await this.proxy.down();
    for (const server of [...this.locks, this.broker, this.backend]) await server.stop();
    await this.database.close().catch(() => {});
    await this.sql.end({ timeout: 5 }).catch(() => {});
    if (keepDatabase) await this.db.sql.end({ timeout: 5 }).catch(() => {});
    else await this.db.drop();
  }
}
