/**
 * How many occurrences a second the leader claims (plan, claim transaction, messages prepared),
 * measured on its own batches and smoothed. The herd window (herd-window.ts) counts on half of it: the claims share the
 * loop with the sends and the housekeeping, and a herd claimed early is only held longer, while
 * one claimed late is sent late.
 */

/** Assumed until a batch large enough to say has been measured. */
const ASSUMED_PER_SECOND = 2_000;
/** Smaller batches are mostly fixed cost (a round trip) and would understate the rate. */
const MEASURED_FROM = 100;
const WEIGHT = 0.3;

export class ClaimRate {
  #perSecond: number;

  constructor(assumedPerSecond = ASSUMED_PER_SECOND) {
    this.#perSecond = assumedPerSecond;
  }

  /** What the herd window counts on. */
  get dependable(): number {
    return this.#perSecond / 2;
  }

  observe(claims: number, ms: number): void {
    if (claims < MEASURED_FROM || ms <= 0) return;
    const rate = (claims / ms) * 1000;
    this.#perSecond = this.#perSecond * (1 - WEIGHT) + rate * WEIGHT;
  }
}
