/**
 * Presence: each beat process upserts its row in `metronome.replicas` every few seconds (and once
 * more as `stopped` when it stops), so the dashboard can show the replicas seen and their roles.
 * It runs beside the runtime on a timer of its own and only reads the role the runtime reports: the
 * tick, the lease and the claim are untouched by it. A failed write is logged and tried again at
 * the next beat; it never stops anything.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { forgetReplicas, writeReplica } from '../db/sql/replicas.ts';

const PRESENCE_INTERVAL_MS = 5_000;
/** How often the role is looked at (in memory): a change is written at once, not at the next beat. */
const ROLE_CHECK_MS = 250;
/** Rows of processes not seen for this long are deleted (by whichever replica notices). */
const FORGET_AFTER = '1 day';

export interface PresenceOptions {
  database: Database;
  /** The process's holder id (the leader lease's holder when it leads). */
  id: string;
  group: string;
  /** host:port of its HTTP server, or null when off. */
  http: string | null;
  role: () => string;
  log: Logger;
  intervalMs?: number;
}

export class Presence {
  readonly #o: PresenceOptions;
  readonly #startedAt = new Date();
  #timer: NodeJS.Timeout | undefined;
  #beats = 0;
  #failing = false;
  #lastRole = '';
  #lastWrite = 0;
  #writing = false;

  constructor(options: PresenceOptions) {
    this.#o = options;
  }

  async start(): Promise<void> {
    await this.#beat();
    this.#timer = setInterval(() => {
      const due = performance.now() - this.#lastWrite >= (this.#o.intervalMs ?? PRESENCE_INTERVAL_MS);
      if (!this.#writing && (due || this.#o.role() !== this.#lastRole)) void this.#beat();
    }, ROLE_CHECK_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#write('stopped').catch(() => {});
  }

  async #beat(): Promise<void> {
    this.#writing = true;
    this.#lastWrite = performance.now();
    try {
      this.#lastRole = this.#o.role();
      await this.#write(this.#lastRole);
      // Now and then, forget processes gone for a day.
      if (this.#beats++ % 100 === 0) {
        await forgetReplicas(this.#o.database, FORGET_AFTER);
      }
      if (this.#failing) this.#o.log.info('presence: writing the replica row again');
      this.#failing = false;
    } catch (error) {
      if (!this.#failing) this.#o.log.warn({ err: error }, 'presence: could not write the replica row');
      this.#failing = true;
    } finally {
      this.#writing = false;
    }
  }

  async #write(role: string): Promise<void> {
    const o = this.#o;
    await writeReplica(o.database, {
      id: o.id,
      group: o.group,
      host: hostname(),
      pid: process.pid,
      role,
      http: o.http,
      version: VERSION,
      startedAt: this.#startedAt,
    });
  }
}

/** This package's version, shown beside each replica (a mixed-version rollout is visible). */
const VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();
