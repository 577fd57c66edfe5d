/**
 * Backfill, decided: which slots of a past range a schedule has (its own slots, from the time
 * engine), how fast they may go, and when a range is large enough to need an explicit confirmation.
 * Pure: `beat backfill`, the API and the leader's backfill runner (src/beat/backfill-runner.ts) all
 * decide with these.
 */
import type { Schedule } from '../time/index.ts';

/** A range with more slots than this needs `--yes` (the API: `"confirm": true`). */
export const BACKFILL_CONFIRM_OVER = 1_000;
/** The most slots one backfill may hold: larger ranges are split by the operator. */
export const BACKFILL_MAX_SLOTS = 100_000;
/** Slots a second when no rate is given: gentle on workers that also serve the schedule's own runs. */
export const DEFAULT_BACKFILL_RATE = 1;
export const MAX_BACKFILL_RATE = 100;

/** The part of a schedule record a backfill reads. */
export interface BackfillWindow {
  startAt: Date | null;
  endAt: Date | null;
}

/**
 * The schedule's slots in [from, to], in order, within its own start/end window; at most `limit`
 * (so a caller can tell "more than the bound" without listing a million slots).
 */
export function slotsInRange(
  schedule: Schedule,
  window: BackfillWindow,
  from: number,
  to: number,
  limit: number,
): number[] {
  const lower = Math.max(from, window.startAt?.getTime() ?? -Infinity);
  const upper = Math.min(to, window.endAt?.getTime() ?? Infinity);
  const slots: number[] = [];
  if (lower > upper) return slots;
  for (const slot of schedule.fires(lower - 1)) {
    if (slot > upper || slots.length >= limit) break;
    slots.push(slot);
  }
  return slots;
}

/** Why a range cannot be backfilled (a one-line reason naming the field), or null. */
export function rangeProblem(from: number, to: number, now: number): string | null {
  if (!Number.isFinite(from)) return '--from is not an instant';
  if (!Number.isFinite(to)) return '--to is not an instant';
  if (from > to)
    return `--from ${new Date(from).toISOString()} is after --to ${new Date(to).toISOString()}; swap them`;
  if (to > now)
    return `--to ${new Date(to).toISOString()} is in the future (now ${new Date(now).toISOString()}); a backfill fires past slots only: use --to now or earlier`;
  return null;
}

/**
 * A rate as the operator writes it: `5/s`, `30/m` (or `30/min`), `2` (per second). Returns slots a
 * second, or throws a RangeError naming the accepted forms.
 */
export function parseRate(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|second|m|min|minute))?\s*$/.exec(text);
  const n = match ? Number(match[1]) : Number.NaN;
  const perSecond = match?.[2]?.startsWith('m') ? n / 60 : n;
  if (!Number.isFinite(perSecond) || perSecond <= 0 || perSecond > MAX_BACKFILL_RATE) {
    throw new RangeError(
      `--rate ${JSON.stringify(text)} is not a rate: use N/s or N/m, more than 0 and at most ${MAX_BACKFILL_RATE}/s (e.g. 5/s)`,
    );
  }
  return perSecond;
}

/** A rate for display: `5/s`, `0.5/s`. */
export function formatRate(perSecond: number): string {
  return `${Number(perSecond.toFixed(3))}/s`;
}
