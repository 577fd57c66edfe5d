/** A clocked schedule fires once, at one instant, and is then done. */
export class ClockedSchedule {
  constructor(readonly runAtMs: number) {}

  next(after: number): number | null {
    return this.runAtMs > after ? this.runAtMs : null;
  }
}
