/**
 * The workers' own record of what ran (see worker-app.ts): read whole at the end, and followed
 * while the run goes so a worker can be killed while it is executing something.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';

export interface RecordLine {
  e: 'start' | 'end';
  /** Epoch seconds. */
  t: number;
  id: string;
  s?: string | null;
  sf?: string | null;
  pid?: number;
  ppid?: number;
  how?: string;
}

/** One execution of a task by a worker: its start, and its end if one was written. */
export interface Execution {
  taskId: string;
  schedule: string | null;
  /** Epoch ms. */
  start: number;
  end: number | null;
  how: string | null;
  pid: number;
  /** The worker's main process. */
  ppid: number;
}

export function parseRecords(text: string): RecordLine[] {
  const out: RecordLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as RecordLine);
    } catch {
      // a line cut by a kill -9 mid-write: nothing to learn from it
    }
  }
  return out;
}

/**
 * Pair starts with ends. An end belongs to the open start of the same task id in the same process
 * (a task id executed twice has two starts, each with its own end).
 */
export function executions(lines: RecordLine[]): Execution[] {
  const out: Execution[] = [];
  const open = new Map<string, Execution[]>();
  for (const r of lines) {
    if (r.e === 'start') {
      const x: Execution = {
        taskId: r.id,
        schedule: r.s ?? null,
        start: r.t * 1000,
        end: null,
        how: null,
        pid: r.pid ?? 0,
        ppid: r.ppid ?? 0,
      };
      out.push(x);
      open.set(r.id, [...(open.get(r.id) ?? []), x]);
    } else {
      const list = open.get(r.id) ?? [];
      const x = list.shift();
      if (x) {
        x.end = r.t * 1000;
        x.how = r.how ?? null;
      }
    }
  }
  return out;
}

export function readRecords(file: string): RecordLine[] {
  return existsSync(file) ? parseRecords(readFileSync(file, 'utf8')) : [];
}

/** Follows the record file: which worker (by main pid) is executing something right now. */
export class RecordTail {
  #offset = 0;
  #rest = '';
  readonly #running = new Map<string, number>();

  constructor(readonly file: string) {}

  poll(): void {
    if (!existsSync(this.file)) return;
    const size = statSync(this.file).size;
    if (size <= this.#offset) return;
    const fd = openSync(this.file, 'r');
    const buffer = Buffer.alloc(size - this.#offset);
    readSync(fd, buffer, 0, buffer.length, this.#offset);
    closeSync(fd);
    this.#offset = size;
    const text = this.#rest + buffer.toString('utf8');
    const cut = text.lastIndexOf('\n');
    this.#rest = text.slice(cut + 1);
    for (const r of parseRecords(text.slice(0, cut + 1))) {
      if (r.e === 'start') this.#running.set(r.id, r.ppid ?? 0);
      else this.#running.delete(r.id);
    }
  }

  /** Worker main pids with a task started and not ended. */
  busyWorkers(): Set<number> {
    this.poll();
    return new Set(this.#running.values());
  }

  /** Forget the runs of a worker that was killed (they will never end). */
  forgetWorker(ppid: number): void {
    for (const [id, p] of this.#running) if (p === ppid) this.#running.delete(id);
  }
}
