/**
 * The Prometheus metrics, on a registry of our own (never prom-client's global one, so tests and
 * embedders can run several beats in one process). Labels are bounded sets — never a schedule name —
 * so 100k schedules do not make 100k series.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { VERSION } from '../version.ts';

/** The `outcome` label of metronome_fires_total: what the leader did with an occurrence. */
export type FireOutcome =
  | 'enqueued'
  | 'enqueue_failed'
  | 'skipped_overlap'
  | 'buffered'
  | 'missed'
  | 'skipped'
  | 'fenced';

export class BeatMetrics {
  readonly registry = new Registry();
  readonly #fires = new Counter({
    name: 'metronome_fires_total',
    help: 'Occurrences handled by the leader, by outcome.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly dispatchLag = new Histogram({
    name: 'metronome_dispatch_lag_seconds',
    help: 'From an occurrence being due (scheduled instant plus jitter) to its enqueue being confirmed.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly wakeupLag = new Histogram({
    name: 'metronome_wakeup_lag_seconds',
    help: 'How late the tick woke up compared with the time it asked to wake (event loop and timer lag).',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly tickDuration = new Histogram({
    name: 'metronome_tick_duration_seconds',
    help: 'Duration of one tick batch: claim, lock, enqueue and record.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'metronome_leader',
    help: '1 while this process leads, 0 while it stands by.',
    registers: [this.registry],
  });
  readonly epoch = new Gauge({
    name: 'metronome_leader_epoch',
    help: 'The fencing epoch of the current lease held by this process (last held when standing by).',
    registers: [this.registry],
  });
  readonly schedules = new Gauge({
    name: 'metronome_schedules',
    help: 'Schedules known to this process, by state.',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly missed = new Counter({
    name: 'metronome_missed_total',
    help: 'Occurrences recorded missed (downtime, pause or catch-up policy), each with a row.',
    registers: [this.registry],
  });
  readonly skipped = new Counter({
    name: 'metronome_skipped_total',
    help: 'Occurrences not run because the previous run still held the run lock (overlap policy).',
    registers: [this.registry],
  });
  readonly lockFailures = new Counter({
    name: 'metronome_lock_failures_total',
    help: 'Run-lock operations that failed because the lock service was unreachable.',
    registers: [this.registry],
  });
  readonly enqueueFailures = new Counter({
    name: 'metronome_enqueue_failures_total',
    help: 'Enqueue attempts that failed (the occurrence stays claimed and is retried with backoff).',
    registers: [this.registry],
  });
  readonly invalidSchedules = new Counter({
    name: 'metronome_invalid_schedules_total',
    help: 'Schedule rows found invalid when loaded (each is quarantined with invalid_reason).',
    registers: [this.registry],
  });

  readonly deadlineOutcomes = new Counter({
    name: 'metronome_deadline_outcomes_total',
    help: 'Occurrences of schedules with deadlines, by how they stood against them (on_time, started_late, not_finished, failed, missed, skipped).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly alertsRaised = new Counter({
    name: 'metronome_alerts_raised_total',
    help: 'Alerts raised by the leader: deadline breaches by kind, and recoveries (kind="recovered").',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly schedulesInBreach = new Gauge({
    name: 'metronome_schedules_in_breach',
    help: 'Schedules whose last deadline alert is a breach (not yet back on time); set by the leader.',
    registers: [this.registry],
  });
  readonly alertDeliveries = new Counter({
    name: 'metronome_alert_deliveries_total',
    help: 'Webhook delivery attempts of alerts, by outcome (delivered, failed: retried with backoff).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly alertsPending = new Gauge({
    name: 'metronome_alerts_pending',
    help: 'Alerts waiting in the outbox for the webhook to accept them; set by the leader.',
    registers: [this.registry],
  });

  readonly buildInfo = new Gauge({
    name: 'metronome_build_info',
    help: 'Always 1; the labels say which Metronome (and Node.js) this process runs.',
    labelNames: ['version', 'node_version'] as const,
    registers: [this.registry],
  });

  /** Count `count` occurrences handled with `outcome` (a label the type checks: no free text). */
  fired(outcome: FireOutcome, count = 1): void {
    this.#fires.inc({ outcome }, count);
  }

  constructor(options: { processMetrics?: boolean } = {}) {
    this.buildInfo.set({ version: VERSION, node_version: process.version }, 1);
    if (options.processMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: 'metronome_' });
  }
}
