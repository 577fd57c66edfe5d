/**
 * Interval schedules fire on a fixed grid `anchor + k × every` (anchor default: the Unix epoch), so
 * every 5 minutes fires at :00, :05, … and never drifts, as BullMQ and Temporal do. Celery's own
 * interval drifts (its next run is the send time plus the interval); ours does not.
 */
export class IntervalSchedule {
  constructor(
    readonly everyMs: number,
    readonly anchorMs: number,
  ) {}

  next(after: number): number {
    const k = Math.floor((after - this.anchorMs) / this.everyMs) + 1;
    return this.anchorMs + k * this.everyMs;
  }
}
