/**
 * `--check`: each imported schedule's fires over a window, by Celery's own code (replayed in the
 * user's Python, python/metronome_beatsim.py) and by Metronome's engine, and every instant where
 * they part with the reason. The Python side is passed in (`celeryTimes`), so the same check serves
 * a Celery app's beat_schedule and django-celery-beat's tables.
 */
import { NO_CALENDARS, validateFields } from '../../model/index.ts';
import { ZoneRules } from '../../time/index.ts';
import type { SegmentIso, TimesAnswer } from '../celery-app.ts';
import type { ReadyEntry } from '../entry.ts';
import { compareFires, type Difference, toleranceFor } from './compare.ts';
import { explainDifference, explainFailure, localTime } from './reasons.ts';
import { metronomeFires, planSegments, type Segment } from './segments.ts';

export interface CheckSubject {
  entry: ReadyEntry;
  /** The zone Celery's clock for this entry answers in (an interval's wall clock); null for UTC. */
  clockZone: string | null;
}

interface CheckRow {
  celery: string | null;
  metronome: string | null;
  /** The instant(s) in the schedule's zone. */
  local: string;
  reason: string;
}

interface ScheduleCheck {
  name: string;
  /** Metronome fires compared. */
  fires: number;
  partial: string | null;
  differences: CheckRow[];
  /** Celery's code failed on this entry (reported, and the check fails). */
  error: string | null;
}

export interface CheckReport {
  from: string;
  to: string;
  schedules: ScheduleCheck[];
  equal: boolean;
}

export type CeleryTimes = (requests: { name: string; segments: SegmentIso[] }[]) => Promise<TimesAnswer>;

const iso = (ms: number) => new Date(ms).toISOString();
const isoPair = (d: Difference) => ({
  celery: d.celery === null ? null : iso(d.celery),
  metronome: d.metronome === null ? null : iso(d.metronome),
});

export async function checkTimes(
  subjects: CheckSubject[],
  celeryTimes: CeleryTimes,
  window: { from: number; to: number },
): Promise<CheckReport> {
  const prepared = subjects.map((subject) => {
    const { entry } = subject;
    const check = validateFields({ ...entry.fields, name: entry.name }, window.from, NO_CALENDARS);
    if (!check.ok) throw new Error(`imported schedule "${entry.name}" does not compile: ${check.reason}`);
    const zone = entry.fields.kind === 'crontab' ? entry.fields.timezone : subject.clockZone;
    const plan = planSegments(check.schedule, entry.fields, window.from, window.to, zone);
    return { subject, schedule: check.schedule, zone, ...plan };
  });
  const answer = await celeryTimes(
    prepared.map((p) => ({
      name: p.subject.entry.name,
      segments: p.segments.map((s): SegmentIso => [iso(s.start), iso(s.end)]),
    })),
  );
  const schedules = prepared.map((p): ScheduleCheck => {
    const { entry } = p.subject;
    const ours = p.segments.flatMap((s: Segment) => metronomeFires(p.schedule, entry.fields, s));
    const result = answer.entries[entry.name];
    const base = { name: entry.name, fires: ours.length, partial: p.partial };
    if (!result || 'error' in result) {
      return { ...base, differences: [], error: result ? result.error : "Celery's answer is missing" };
    }
    // Past an `expires` instant (endAt) celery beat still sends, and its workers discard each message
    // as expired: no run, as in Metronome, which stops there.
    const endAt = entry.fields.endAt?.getTime() ?? Number.POSITIVE_INFINITY;
    const celery = result.fires.map((f) => Date.parse(f)).filter((t) => t <= endAt);
    const failedAt = result.failure ? Date.parse(result.failure.at) : Number.POSITIVE_INFINITY;
    const zone = ZoneRules.get(p.zone ?? 'UTC');
    const local = (d: Difference) =>
      [d.celery, d.metronome].map((t) => (t === null ? '-' : localTime(zone, t))).join(' / ');
    const context = {
      kind: entry.fields.kind,
      schedule: p.schedule,
      zone: p.zone,
      since: window.from,
      ...(entry.fields.solarEvent
        ? { solar: { event: entry.fields.solarEvent, latitude: entry.fields.latitude ?? 0 } }
        : {}),
    };
    const compared = ours.filter((t) => t < failedAt);
    const differences: CheckRow[] = compareFires(
      celery,
      compared,
      toleranceFor(entry.fields.kind),
      p.segments,
    ).map((d) => ({ ...isoPair(d), local: local(d), reason: explainDifference(context, d) }));
    if (result.failure) {
      const d = { celery: null, metronome: ours.find((t) => t >= failedAt) ?? null };
      differences.push({
        ...isoPair(d),
        celery: `fails at ${result.failure.at}`,
        local: local(d),
        reason: explainFailure(entry.fields.kind, result.failure.error),
      });
    }
    return { ...base, differences, error: null };
  });
  return {
    from: iso(window.from),
    to: iso(window.to),
    schedules,
    equal: schedules.every((s) => s.error === null && s.differences.length === 0),
  };
}
