/** An instant as the API gives it: UTC (ISO 8601) and the wall clock of a zone. */
import { formatLocal } from '../model/index.ts';
import type { ZoneRules } from '../time/index.ts';

export interface Instant {
  utc: string;
  /** `2026-03-29 03:30:00 +02:00` in the schedule's zone. */
  local: string;
}

export function instant(ms: number, zone: ZoneRules): Instant {
  return { utc: new Date(ms).toISOString(), local: formatLocal(ms, zone) };
}

export function maybeInstant(ms: number | null | undefined, zone: ZoneRules): Instant | null {
  return ms === null || ms === undefined ? null : instant(ms, zone);
}

/** A timestamp column as driver-neutral epoch ms (postgres.js gives Date or string, PGlite Date). */
export function ms(value: Date | string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  return (value instanceof Date ? value : new Date(value)).getTime();
}

export function iso(value: Date | string | null | undefined): string | null {
  const t = ms(value);
  return t === null ? null : new Date(t).toISOString();
}
