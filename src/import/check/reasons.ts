/**
 * Why Celery and Metronome part at an instant: the reason `--check` prints beside each difference.
 * Pure. The causes known to occur (docs/migrating.md, "Why times differ"):
 *
 * - a DST gap or a repeated hour, where Metronome follows RFC 5545 (docs/time.md) and Celery its
 *   own arithmetic;
 * - Celery's known DST bug: once the UTC offset has changed, `celery.utils.time.remaining` re-reads
 *   the last run's wall-clock time with the new offset, so a crontab can run at the moment of the
 *   change and an interval keeps its local time (shifting by the change in real time);
 * - solar events near the poles, where the sun only grazes the event's altitude, and Celery's
 *   `dusk_astronomical`, computed at +18° (a typo in Celery 5.2).
 */
import { DAY, formatDuration, type Schedule, ZoneRules } from '../../time/index.ts';
import type { Difference } from './compare.ts';
import { offsetChanges } from './segments.ts';

export interface ReasonContext {
  kind: string;
  /** Metronome's compiled schedule (its DST notes). */
  schedule: Schedule;
  /** The zone whose clock both read: the crontab's zone, or the zone of Celery's clock for an interval. */
  zone: string | null;
  solar?: { event: string; latitude: number };
  /** Where the comparison starts. */
  since: number;
}

/** `2026-03-29 03:00:00 +02:00` */
export function localTime(zone: ZoneRules, at: number): string {
  const offset = zone.offsetAt(at);
  const wall = new Date(at + offset).toISOString();
  const minutes = Math.round(Math.abs(offset) / 60_000);
  const sign = offset < 0 ? '-' : '+';
  const hhmm = `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
  return `${wall.slice(0, 10)} ${wall.slice(11, 19)} ${sign}${hhmm}`;
}

export function explainDifference(ctx: ReasonContext, d: Difference): string {
  if (ctx.kind === 'solar' && ctx.solar) return solarReason(ctx.solar, d);
  const zone = ctx.zone ? ZoneRules.get(ctx.zone) : null;
  const instants = [d.celery, d.metronome].filter((x): x is number => x !== null);
  // A crontab parts from Celery's around a change; an interval Celery moved stays moved after it.
  const since = ctx.kind === 'interval' ? ctx.since : Math.min(...instants) - DAY;
  const near = zone !== null && offsetChanges(zone, since, Math.max(...instants) + DAY).length > 0;
  if (!zone || !near) {
    return 'no known cause (no DST change nearby): please report it with the schedule';
  }
  const celeryAt =
    d.celery === null ? 'Celery does not run it' : `Celery runs it at ${localTime(zone, d.celery)}`;
  if (ctx.kind === 'interval') {
    return `Celery's DST bug for intervals: after the UTC offset changes, Celery re-reads its last run's wall-clock time with the new offset (celery.utils.time.remaining), which moves its next run by the change (an interval under a day pauses through the repeated hour; a daily one keeps its local time); Metronome's interval is a fixed grid in real time (${celeryAt})`;
  }
  const note = d.metronome === null ? undefined : ctx.schedule.explain(d.metronome);
  switch (note?.kind) {
    case 'shifted':
      return `DST gap: ${note.wall.slice(11)} does not exist that day; Metronome runs it ${formatDuration(note.byMs)} later (RFC 5545), ${celeryAt}`;
    case 'merged':
      return `DST gap: ${note.walls.map((w) => w.slice(11)).join(' and ')} land on one instant; Metronome runs it once, ${celeryAt}`;
    case 'fold-first':
      return `repeated hour (DST fall-back): Metronome runs it once, at the first pass; ${celeryAt}`;
    case 'fold-second':
      return `repeated hour (DST fall-back): Metronome runs the second pass too (its hour field is *, so it runs on real time); ${celeryAt}`;
  }
  if (d.metronome === null && d.celery !== null && inRepeatedHour(zone, d.celery)) {
    return 'repeated hour (DST fall-back): Celery runs it again in the second pass; Metronome runs it once';
  }
  return `Celery's DST bug: once the UTC offset has changed, Celery re-reads its last run's wall-clock time with the new offset (celery.utils.time.remaining) and runs at the wrong moment; ${celeryAt}${
    d.metronome === null ? '' : `, Metronome at ${localTime(zone, d.metronome)}`
  }`;
}

function solarReason(solar: { event: string; latitude: number }, d: Difference): string {
  if (solar.event === 'dusk_astronomical') {
    return "Celery's known bug: Celery 5.2 computes dusk_astronomical with the sun at +18° (an afternoon time); Metronome at −18°, the real astronomical dusk";
  }
  if (Math.abs(solar.latitude) >= 60) {
    return "solar near the poles: the sun only grazes the event's altitude around this day, so the two sun models (Celery's PyEphem, Metronome's) place it minutes apart or disagree whether it happens";
  }
  if (d.celery !== null && d.metronome !== null) {
    return `solar: the two sun models differ by ${formatDuration(Math.abs(d.celery - d.metronome))} here (they agree within a minute elsewhere)`;
  }
  return 'solar: one sun model has the event on this day and the other does not';
}

/** Whether the wall-clock time at `at` also occurs an offset change earlier (the second pass). */
function inRepeatedHour(zone: ZoneRules, at: number): boolean {
  const offset = zone.offsetAt(at);
  for (const back of [30, 60, 120].map((m) => m * 60_000)) {
    const earlier = at - back;
    if (zone.offsetAt(earlier) - offset === back) return true;
  }
  return false;
}

/** Why Celery's own code raising at an instant is a difference, and what is known about it. */
export function explainFailure(kind: string, error: string): string {
  const known =
    kind === 'solar' && error.includes('ephem.Date')
      ? "Celery's known bug: on a day without the event (polar day or night) Celery 5.2's solar raises this and celery beat stops; Metronome skips such days"
      : 'celery beat would stop here';
  return `Celery's code fails here (${error}): ${known}`;
}
