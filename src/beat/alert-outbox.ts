/**
 * The leader delivers the alerts outbox to the webhook: each alert POSTed as JSON, signed with the
 * shared secret (src/model/alert-message.ts), with its idempotency key in the `Idempotency-Key`
 * header, retried with exponential backoff until a receiver answers 2xx. Only the leader delivers:
 * an attempt is claimed in the database only while the lease is ours (src/db/sql/alerts.ts), so
 * after a failover the new leader carries on from the same rows. A leader that dies between a
 * receiver's 2xx and recording it leaves that alert to be sent again — with the same key, so the
 * receiver can tell (at least once on the wire, once per key at the receiver).
 */
import type { Logger } from 'pino';
import type { AlertSettings } from '../config.ts';
import type { Database } from '../db/database.ts';
import {
  type AlertRow,
  claimDeliveries,
  markAttemptFailed,
  markDelivered,
  pendingAlertCount,
} from '../db/sql/alerts.ts';
import type { Fence } from '../db/sql/leader.ts';
import { alertBody, signAlert } from '../model/alert-message.ts';
import { retryDelayMs } from '../model/deadline.ts';
import { VERSION } from '../version.ts';
import type { BeatMetrics } from './metrics.ts';
import { Repeating } from './repeating.ts';

/** Alerts sent per round, one after the other (a webhook is not a bulk endpoint). */
const ROUND = 20;
/** How often due alerts (retries) are looked for when nothing nudges the outbox. */
const LOOK_MS = 1_000;

export interface AlertOutboxOptions {
  database: Database;
  fence: Fence;
  settings: AlertSettings & { webhookUrl: string; webhookSecret: string };
  metrics: BeatMetrics;
  log: Logger;
}

/**
 * The webhook's address without a user name and password (fetch refuses a URL that carries them),
 * and those as a Basic `Authorization` header, as a browser would send them.
 */
export function webhookTarget(url: string): { url: string; authorization: string | undefined } {
  const parsed = new URL(url);
  if (!parsed.username && !parsed.password) return { url, authorization: undefined };
  const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), authorization: `Basic ${Buffer.from(credentials).toString('base64')}` };
}

export class AlertOutbox {
  readonly #o: AlertOutboxOptions;
  readonly #loop: Repeating;
  readonly #target: ReturnType<typeof webhookTarget>;

  constructor(options: AlertOutboxOptions) {
    this.#o = options;
    this.#target = webhookTarget(options.settings.webhookUrl);
    this.#loop = new Repeating(
      () => this.#round(),
      () => LOOK_MS,
    );
  }

  /** Alerts were raised: send them now rather than at the next look. */
  nudge(): void {
    this.#loop.nudge();
  }

  stop(boundMs: number): Promise<void> {
    return this.#loop.stop(boundMs);
  }

  async #round(): Promise<void> {
    const o = this.#o;
    try {
      for (;;) {
        // Held past the longest an attempt may take: nobody else starts it meanwhile.
        const due = await claimDeliveries(o.database, o.fence, ROUND, o.settings.webhookTimeoutMs + 5_000);
        for (const alert of due) await this.#deliver(alert);
        if (due.length < ROUND) break;
      }
      o.metrics.alertsPending.set(await pendingAlertCount(o.database));
    } catch (error) {
      o.log.warn({ err: error }, 'alert delivery round failed; the next round tries again');
    }
  }

  async #deliver(alert: AlertRow): Promise<void> {
    const o = this.#o;
    const body = JSON.stringify(alertBody(alert, o.settings.publicUrl));
    const timestamp = Math.floor(Date.now() / 1000);
    let problem: string;
    try {
      const response = await fetch(this.#target.url, {
        method: 'POST',
        headers: {
          ...(this.#target.authorization ? { authorization: this.#target.authorization } : {}),
          'content-type': 'application/json',
          'user-agent': `metronome/${VERSION}`,
          'idempotency-key': alert.key,
          'metronome-signature': signAlert(body, o.settings.webhookSecret, timestamp),
          'metronome-attempt': String(alert.attempts),
        },
        body,
        signal: AbortSignal.timeout(o.settings.webhookTimeoutMs),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) {
        await markDelivered(o.database, alert.id);
        o.metrics.alertDeliveries.inc({ outcome: 'delivered' });
        return;
      }
      problem = `the webhook answered ${response.status} ${response.statusText}`.trim();
    } catch (error) {
      problem = `the webhook could not be reached: ${(error as Error).message}`;
    }
    const retryIn = retryDelayMs(alert.attempts, o.settings.retryMaxMs);
    o.metrics.alertDeliveries.inc({ outcome: 'failed' });
    o.log.warn(
      { schedule: alert.scheduleName, key: alert.key, attempt: alert.attempts, retryInMs: retryIn, problem },
      'alert not delivered; will retry',
    );
    await markAttemptFailed(o.database, alert.id, problem, retryIn);
  }
}
