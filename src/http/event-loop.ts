/**
 * Notices a blocked event loop: a timer that should run every `intervalMs` and measures how long it
 * actually took. A gap longer than `stallMs` is remembered for `stallMs`, so the next probes see it
 * (during the block itself no probe is answered: the kubelet's probe times out, which fails too).
 */
import { performance } from 'node:perf_hooks';
import type { Liveness } from '../beat/health.ts';

export class EventLoopWatch {
  #timer: NodeJS.Timeout | undefined;
  #lastRun = 0;
  #stall: { ms: number; at: number } | undefined;

  constructor(
    readonly stallMs: number,
    readonly intervalMs = 200,
  ) {}

  start(): void {
    this.#lastRun = performance.now();
    this.#timer = setInterval(() => {
      const now = performance.now();
      const gap = now - this.#lastRun;
      this.#lastRun = now;
      if (gap > this.stallMs) this.#stall = { ms: gap, at: now };
    }, this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  check(now = performance.now()): Liveness {
    const stall = this.#stall;
    if (!stall || now - stall.at > this.stallMs) return { live: true, reasons: [] };
    return {
      live: false,
      reasons: [
        `event loop was blocked for ${(stall.ms / 1000).toFixed(1)}s ${Math.round((now - stall.at) / 1000)}s ago (bound ${this.stallMs / 1000}s)`,
      ],
    };
  }
}
