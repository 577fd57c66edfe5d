/**
 * Live updates over server-sent events (`GET /api/v1/events`). While at least one page listens, the
 * hub reads the activity fingerprint (src/observe/activity.ts) once a second and tells every
 * listener which parts changed; the page then reloads what it shows. One read per second per
 * replica however many pages are open, and none while nobody looks.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { changedParts, type Fingerprint, fingerprint } from '../observe/activity.ts';
import { ApiError, SECURITY_HEADERS } from './api/respond.ts';

const MAX_LISTENERS = 100;
/** Streams one client address may hold: a few tabs, never every slot. */
const MAX_LISTENERS_PER_CLIENT = 8;
const HEARTBEAT_MS = 15_000;

const STREAM_HEADERS = {
  ...SECURITY_HEADERS,
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

export class LiveHub {
  readonly #listeners = new Set<ServerResponse>();
  readonly #perClient = new Map<string, number>();
  #last: Fingerprint | undefined;
  #timer: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #polling = false;
  #closed = false;

  constructor(
    private readonly database: Database,
    private readonly group: string,
    private readonly log: Logger,
    private readonly pollMs: number,
  ) {}

  get listeners(): number {
    return this.#listeners.size;
  }

  /**
   * Take over a response as an event stream. False when too many are open already; a 429 when this
   * client holds its share. A HEAD is answered with the stream's headers and takes no slot.
   */
  add(res: ServerResponse): boolean {
    if (res.req.method === 'HEAD') {
      res.writeHead(200, STREAM_HEADERS).end();
      return true;
    }
    if (this.#closed || this.#listeners.size >= MAX_LISTENERS) return false;
    const client = res.req.socket.remoteAddress ?? '?';
    const held = this.#perClient.get(client) ?? 0;
    if (held >= MAX_LISTENERS_PER_CLIENT) {
      throw new ApiError(
        429,
        'too_many_streams',
        `this client has ${held} live pages open on this beat, the most one client may; close one`,
        { 'retry-after': '30' },
      );
    }
    res.writeHead(200, STREAM_HEADERS);
    res.write('retry: 3000\n\nevent: hello\ndata: {}\n\n');
    this.#listeners.add(res);
    this.#perClient.set(client, held + 1);
    res.on('close', () => {
      this.#listeners.delete(res);
      const left = (this.#perClient.get(client) ?? 1) - 1;
      if (left > 0) this.#perClient.set(client, left);
      else this.#perClient.delete(client);
      if (this.#listeners.size === 0) this.#stop();
    });
    this.#start();
    return true;
  }

  /** Something changed through this process (an API action): tell listeners now. */
  poke(): void {
    void this.#poll();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stop();
    for (const res of this.#listeners) res.end();
    this.#listeners.clear();
    this.#perClient.clear();
  }

  #start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.#poll(), this.pollMs);
    this.#timer.unref();
    this.#heartbeat = setInterval(() => this.#send(': heartbeat\n\n'), HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  #stop(): void {
    clearInterval(this.#timer);
    clearInterval(this.#heartbeat);
    this.#timer = undefined;
    this.#heartbeat = undefined;
  }

  async #poll(): Promise<void> {
    if (this.#polling || this.#closed) return;
    this.#polling = true;
    try {
      const now = await fingerprint(this.database, this.group);
      const parts = changedParts(this.#last, now);
      const first = this.#last === undefined;
      this.#last = now;
      if (parts.length > 0 && !first) {
        this.#send(`event: change\ndata: ${JSON.stringify({ parts })}\n\n`);
      }
    } catch (error) {
      this.log.debug({ err: error }, 'live updates: could not read the activity fingerprint');
    } finally {
      this.#polling = false;
    }
  }

  #send(text: string): void {
    for (const res of this.#listeners) res.write(text);
  }
}
