/**
 * The leader's deadline watch: a pass every few seconds judges the undecided occurrences of the
 * schedules that have deadlines (src/model/deadline.ts decides), records the outcomes and raises
 * the alerts in one fenced transaction (src/db/sql/deadlines.ts), and keeps the deadline series.
 * It lives as long as a leader term and runs beside the tick loop, never in it: a slow pass delays
 * no fire. A pass that fails (the database, a lost lease) is logged and the next one starts over
 * from the ledger, which is the only state: a new leader picks up exactly where the last one was.
 */
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import {
  type DecidedOutcome,
  openBreaches,
  recordJudgements,
  undecidedOccurrences,
} from '../db/sql/deadlines.ts';
import { type Fence, FencedError } from '../db/sql/leader.ts';
import { type AlertToRaise, judgePass } from '../model/deadline.ts';
import type { BeatMetrics } from './metrics.ts';
import { Repeating } from './repeating.ts';

/** How far back a new term looks for undecided occurrences (a run is followed at most this long). */
const FIRST_LOOK_BACK_MS = 86_400_000;
/** Occurrences judged per pass at most; the rest wait for the next pass. */
const PASS_LIMIT = 5_000;
/** One pass in this many reads each schedule's whole catch-up window (see undecidedOccurrences). */
const WIDE_EVERY = 12;

export interface DeadlineWatchOptions {
  database: Database;
  fence: Fence;
  metrics: BeatMetrics;
  log: Logger;
  intervalMs: number;
  /** Whether alerts are to be delivered (a webhook is configured) or only recorded. */
  deliver: boolean;
  /** Called when alerts were raised (the outbox sends them at once). */
  onRaised?: () => void;
}

export class DeadlineWatch {
  readonly #o: DeadlineWatchOptions;
  readonly #loop: Repeating;
  /** Slots before this are decided (database ms); null until the first pass. */
  #since: number | null = null;
  #passes = 0;

  constructor(options: DeadlineWatchOptions) {
    this.#o = options;
    this.#loop = new Repeating(
      () => this.#pass(),
      () => options.intervalMs,
    );
  }

  stop(boundMs: number): Promise<void> {
    return this.#loop.stop(boundMs);
  }

  async #pass(): Promise<void> {
    try {
      await this.#judge();
    } catch (error) {
      if (error instanceof FencedError) return; // the term ends; the next leader judges them
      this.#o.log.warn({ err: error }, 'deadline pass failed; the next pass tries again');
    }
  }

  /** Read what is undecided, decide (src/model/deadline.ts), record, and keep the series. */
  async #judge(): Promise<void> {
    const o = this.#o;
    const since = this.#since ?? Date.now() - FIRST_LOOK_BACK_MS;
    // The first pass of a term, and one in WIDE_EVERY, also looks back over the catch-up windows.
    const wide = this.#passes++ % WIDE_EVERY === 0;
    const { now, rows } = await undecidedOccurrences(o.database, since, PASS_LIMIT, wide);
    const open = await openBreaches(o.database);
    const pass = judgePass(rows, open, now);
    const raised = await recordJudgements(
      o.database,
      o.fence,
      pass.decided,
      pass.alerts,
      o.deliver ? 'pending' : 'none',
    );
    this.#observe(
      pass.decided,
      pass.alerts.filter((a) => raised.has(a.key)),
      open.size,
    );
    if (raised.size > 0) o.onRaised?.();
    // The next pass starts from the oldest slot still undecided (or now); a full page starts over.
    if (rows.length < PASS_LIMIT) this.#since = pass.oldestOpen ?? now;
  }

  #observe(decided: readonly DecidedOutcome[], raised: readonly AlertToRaise[], inBreach: number): void {
    const { metrics, log } = this.#o;
    for (const d of decided) metrics.deadlineOutcomes.inc({ outcome: d.outcome });
    for (const alert of raised) {
      metrics.alertsRaised.inc({ kind: alert.kind });
      log.warn(
        {
          schedule: alert.scheduleName,
          slot: new Date(alert.scheduledFor).toISOString(),
          kind: alert.kind,
          reason: alert.reason,
        },
        alert.kind === 'recovered' ? 'schedule back on time' : 'deadline breach',
      );
    }
    metrics.schedulesInBreach.set(inBreach);
  }
}
