/**
 * An alert as the webhook receives it: the JSON body, and its signature. Pure, so the format a
 * receiver verifies is written once (docs/alerts.md shows how to verify it).
 *
 * Signature: `Metronome-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the
 * shared secret — the timestamp inside what is signed, so a receiver can refuse replays of old
 * deliveries, and the body exactly as sent (verify before parsing).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AlertKind } from './deadline.ts';

export interface AlertBody {
  /** The idempotency key (also the Idempotency-Key header): the same alert always has the same one. */
  id: string;
  /** `breach` or `recovery`. */
  type: 'breach' | 'recovery';
  kind: AlertKind;
  schedule: string;
  /** The slot the alert is about (ISO 8601, UTC). */
  slot: string;
  reason: string;
  raisedAt: string;
  dashboard: string;
}

export interface AlertFacts {
  key: string;
  kind: AlertKind;
  scheduleName: string;
  scheduledFor: Date;
  reason: string;
  raisedAt: Date;
}

/** The body of an alert; `publicUrl` the dashboard's address (a path alone without it). */
export function alertBody(alert: AlertFacts, publicUrl: string | undefined): AlertBody {
  return {
    id: alert.key,
    type: alert.kind === 'recovered' ? 'recovery' : 'breach',
    kind: alert.kind,
    schedule: alert.scheduleName,
    slot: alert.scheduledFor.toISOString(),
    reason: alert.reason,
    raisedAt: alert.raisedAt.toISOString(),
    dashboard: `${publicUrl ?? ''}/schedules/${encodeURIComponent(alert.scheduleName)}`,
  };
}

/** The signature header's value for `body` sent at `timestampS` (unix seconds). */
export function signAlert(body: string, secret: string, timestampS: number): string {
  const mac = createHmac('sha256', secret).update(`${timestampS}.${body}`).digest('hex');
  return `t=${timestampS},v1=${mac}`;
}

/**
 * A receiver's check (exported for tests and for TypeScript receivers): the header parses, the
 * signature matches, and the timestamp is within `toleranceS` of `nowS`.
 */
export function verifyAlertSignature(
  header: string,
  body: string,
  secret: string,
  nowS: number,
  toleranceS = 300,
): boolean {
  const parts = Object.fromEntries(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !parts.v1 || Math.abs(nowS - t) > toleranceS) return false;
  const expected = Buffer.from(signAlert(body, secret, t).split('v1=')[1] as string, 'hex');
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
