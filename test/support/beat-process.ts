/**
 * A real `beat` process (bin/beat.js run) for the runtime tests: its enqueue lines (the log
 * transport's stdout) and its pino log lines (stderr) are collected with the time they arrived, so
 * tests can assert who enqueued what, when leadership moved, and that nothing was sent twice.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { BEAT, ROOT } from './cli.ts';

export interface Enqueue {
  taskId: string;
  schedule: string;
  scheduledFor: string;
  args: unknown;
  receivedAt: number;
}

export interface LogLine {
  msg: string;
  level: number;
  receivedAt: number;
  [key: string]: unknown;
}

/**
 * How long a test waits for a beat it started to lead: start-up (module loading, the database,
 * the election) is seconds on a quiet machine and far more on a loaded CI machine, so the bound is
 * generous; a wait for a state returns as soon as it is reached, so a quiet machine loses nothing.
 */
export const STARTUP_MS = 120_000;

export class BeatProcess {
  readonly child: ChildProcess;
  readonly enqueued: Enqueue[] = [];
  readonly logs: LogLine[] = [];
  readonly exited: Promise<number | null>;
  #stderrTail = '';

  constructor(
    readonly label: string,
    env: Record<string, string | undefined>,
    /** Another command line and folder (a production install); default `node bin/beat.js run` here. */
    start: { argv: string[]; cwd: string } = { argv: [process.execPath, BEAT, 'run'], cwd: ROOT },
  ) {
    const merged: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'info', ...env };
    for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
    const [command, ...args] = start.argv;
    this.child = spawn(command!, args, { cwd: start.cwd, env: merged as NodeJS.ProcessEnv });
    lines(this.child.stdout, (line) => {
      try {
        const value = JSON.parse(line) as Record<string, unknown>;
        if (typeof value.taskId === 'string') {
          this.enqueued.push({
            taskId: value.taskId,
            schedule: String(value.schedule),
            scheduledFor: String(value.scheduledFor),
            args: value.args,
            receivedAt: Date.now(),
          });
        }
      } catch {
        // not an enqueue line
      }
    });
    lines(this.child.stderr, (line) => {
      try {
        this.logs.push({ ...(JSON.parse(line) as LogLine), receivedAt: Date.now() });
      } catch {
        this.#stderrTail = `${this.#stderrTail}${line}\n`.slice(-4000);
      }
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** The first log line with this message (after `since`), waiting up to `timeoutMs`. */
  async waitForLog(msg: string, timeoutMs: number, since = 0): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find((l) => l.msg === msg && l.receivedAt >= since);
      if (found) return found;
      if (Date.now() > deadline || this.child.exitCode !== null) {
        throw new Error(
          `${this.label}: no "${msg}" log within ${timeoutMs} ms (exit ${this.child.exitCode}); last logs:\n${this.logs
            .slice(-12)
            .map((l) => JSON.stringify(l))
            .join('\n')}\n${this.#stderrTail}`,
        );
      }
      await sleep(20);
    }
  }

  hasLog(msg: string, since = 0): boolean {
    return this.logs.some((l) => l.msg === msg && l.receivedAt >= since);
  }

  signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null) this.child.kill(signal);
  }

  /** SIGTERM and wait for exit (SIGKILL after `timeoutMs`). */
  async stop(timeoutMs = 10_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

function lines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  let buffer = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    buffer += chunk;
    let i = buffer.indexOf('\n');
    while (i >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      if (line.trim()) onLine(line);
      i = buffer.indexOf('\n');
    }
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `check` until it returns a value (not undefined/false) or time runs out. */
export async function eventually<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined | false> | T | undefined | false,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    await sleep(50);
  }
}
