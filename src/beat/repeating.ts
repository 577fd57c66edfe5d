/**
 * A step run again and again, `intervalMs` apart, until stopped: the shape of the leader's side
 * loops (deadline watch, alert outbox), which must never delay the tick loop. A failed step is
 * logged by its owner and the loop carries on; stop() waits for the step under way, at most so long.
 */
export class Repeating {
  #active = true;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  readonly #loop: Promise<void>;

  constructor(
    private readonly step: () => Promise<void>,
    private readonly intervalMs: () => number,
  ) {
    this.#loop = this.#run();
  }

  /** Run the step now rather than at the end of the wait. */
  nudge(): void {
    this.#wake?.();
  }

  async #run(): Promise<void> {
    while (this.#active) {
      await this.step();
      if (!this.#active) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#timer = setTimeout(resolve, this.intervalMs());
      });
      clearTimeout(this.#timer);
    }
  }

  async stop(boundMs: number): Promise<void> {
    this.#active = false;
    this.#wake?.();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#loop, new Promise((r) => (timer = setTimeout(r, boundMs)))]);
    clearTimeout(timer);
  }
}
