/**
 * One entry of a Celery app's `beat_schedule` (as python/metronome_celery.py read it) into the
 * Metronome declaration it becomes. Pure.
 *
 * - crontab: Celery's object form (all fields must match), in the zone Celery's own clock for it
 *   answers in: the app's `timezone` (UTC when unset with `enable_utc`, the host's zone without),
 *   or the zone its `nowfun` returns.
 * - a number of seconds, a timedelta, `schedule(run_every)`: an interval. Celery's next run is the
 *   last send plus the interval; Metronome's is a grid `anchor + k × every`, so the anchor is the
 *   entry's last run (from celery beat's schedule file), which puts the first Metronome fire where
 *   celery beat's next one would be. With no known last run, the grid starts at the Unix epoch.
 *   `relative=True` (Celery rounds each run down to the interval's unit) is a grid on that unit's
 *   boundaries when the interval is a whole number of units; any other is refused (see intervalSpec).
 * - solar, and django-celery-beat's clocked.
 */
import type { JsonObject, JsonValue, ScheduleDeclarationInput } from '../model/index.ts';
import { DAY, formatDuration, HOUR, MINUTE, type ScheduleSpec, SECOND, ZoneRules } from '../time/index.ts';
import type { CeleryEntry, CelerySchedule } from './celery-app.ts';
import { toCronFields } from './cron-fields.ts';
import { type Converted, type ImportedEntry, type ImportNote, noteValue } from './entry.ts';
import { mapOptions } from './options.ts';
import { negativeZeroNotes, pythonJson } from './python-json.ts';

export interface ConvertOptions {
  /** The import's instant (epoch ms). */
  now: number;
  /** Declaration options every imported schedule gets (e.g. `overlap`). */
  defaults?: Partial<ScheduleDeclarationInput>;
}

export function fromCeleryEntry(entry: CeleryEntry, options: ConvertOptions): Converted {
  const origin = `beat_schedule entry ${JSON.stringify(entry.name)}`;
  const problem = (reason: string): Converted => ({ problem: { origin, reason } });
  if (entry.problem) return problem(entry.problem);
  if (typeof entry.task !== 'string' || entry.task.trim() === '') {
    return problem(`"task" is ${noteValue(entry.task)}; it must be the task's name`);
  }
  if (!entry.schedule) return problem('it has no schedule');
  const lastRunAt = entry.lastRunAt ? Date.parse(entry.lastRunAt) : null;
  const spec = scheduleSpec(entry.schedule, lastRunAt, options.now);
  if ('reason' in spec) return problem(spec.reason);
  const message = messageOf(entry);
  if ('reason' in message) return problem(message.reason);
  const { args, kwargs } = message;
  const mapped = mapOptions(entry.options ?? {});
  const notes: ImportNote[] = [
    ...spec.notes,
    ...mapped.notes,
    ...negativeZeroNotes({ args, kwargs, headers: mapped.options.headers }),
  ];
  if (entry.default) {
    notes.push({
      option: 'entry',
      value: entry.name,
      kind: 'mapped',
      reason:
        'celery beat adds this entry by itself (result_expires is set and the result backend does not expire results); Metronome runs it as a schedule of its own',
    });
  }
  for (const key of entry.unknownKeys ?? []) {
    notes.push({
      option: key,
      value: '(set)',
      kind: 'unsupported',
      reason: 'not a beat_schedule key; celery beat ignores it too',
    });
  }
  const declaration: ScheduleDeclarationInput = {
    name: entry.name,
    task: entry.task,
    schedule: spec.spec,
    ...(args.length > 0 ? { args } : {}),
    ...(Object.keys(kwargs).length > 0 ? { kwargs } : {}),
    ...mapped.options,
    ...options.defaults,
  };
  const imported: ImportedEntry = {
    name: entry.name,
    origin,
    declaration,
    notes,
    lastRunAt,
    totalRuns: entry.totalRunCount ?? 0,
  };
  return { entry: imported };
}

/** args and kwargs exactly as celery beat sends them (src/import/python-json.ts). */
function messageOf(entry: CeleryEntry): { args: JsonValue[]; kwargs: JsonObject } | { reason: string } {
  try {
    return {
      args: pythonJson(entry.argsJson ?? '[]') as JsonValue[],
      kwargs: pythonJson(entry.kwargsJson ?? '{}') as JsonObject,
    };
  } catch (error) {
    return { reason: `args/kwargs cannot be sent as JSON: ${(error as Error).message}` };
  }
}

type SpecResult = { spec: ScheduleSpec; notes: ImportNote[] } | { reason: string };

function scheduleSpec(schedule: CelerySchedule, lastRunAt: number | null, now: number): SpecResult {
  switch (schedule.kind) {
    case 'crontab': {
      if (!schedule.zone) {
        return {
          reason: `its crontab runs in ${schedule.zoneRepr}, which has no IANA time zone name; set app.conf.timezone to one (e.g. "Europe/Berlin")`,
        };
      }
      const cron = toCronFields(schedule);
      if ('empty' in cron)
        return { reason: `crontab field ${cron.empty} has no values, so celery beat cannot run it` };
      const notes: ImportNote[] = schedule.nowfun
        ? [
            {
              option: 'nowfun',
              value: schedule.zone,
              kind: 'mapped',
              reason: `its crontab is read in the zone its nowfun answers in (${schedule.zone})`,
            },
          ]
        : [];
      return { spec: { kind: 'crontab', cron, timezone: schedule.zone }, notes };
    }
    case 'interval':
      return intervalSpec(schedule.seconds, schedule.relative, schedule.zone ?? 'UTC', lastRunAt, now);
    case 'solar':
      return {
        spec: {
          kind: 'solar',
          event: schedule.event as never,
          latitude: schedule.latitude,
          longitude: schedule.longitude,
        },
        notes: solarNotes(schedule.event),
      };
    case 'clocked':
      return { spec: { kind: 'clocked', runAt: schedule.at }, notes: [] };
    case 'unsupported':
      return {
        reason: `its schedule is a ${schedule.type} (${schedule.repr}), which Metronome cannot represent; use crontab(...), a number of seconds or a timedelta, or solar(...)`,
      };
  }
}

export function solarNotes(event: string): ImportNote[] {
  return event === 'dusk_astronomical'
    ? [
        {
          option: 'schedule',
          value: event,
          kind: 'mapped',
          reason:
            'Celery 5.2 computes dusk_astronomical at +18° (a typo: an afternoon time); Metronome at −18°, the real astronomical dusk',
        },
      ]
    : [];
}

/**
 * Celery's interval (`seconds`, relative or not) as a Metronome grid. `zone` is the zone Celery's
 * clock for it answers in (relative rounding is done on its wall clock).
 */
export function intervalSpec(
  seconds: number,
  relative: boolean,
  zone: string,
  lastRunAt: number | null,
  now: number,
): SpecResult {
  const everyMs = Math.round(seconds * 1000);
  if (everyMs < SECOND) {
    return { reason: `it runs every ${seconds} s; Metronome's shortest interval is 1 second` };
  }
  const anchor = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  if (!relative) return { spec: { kind: 'interval', every: everyMs, anchor: anchor(lastRunAt) }, notes: [] };
  // celery.utils.time.remaining: next = delta_resolution(last + every), the wall clock rounded down
  // to the interval's unit (day, hour, minute; below a minute only the microseconds are dropped).
  const unit = everyMs >= DAY ? DAY : everyMs >= HOUR ? HOUR : everyMs >= MINUTE ? MINUTE : SECOND;
  const unitName = unit === DAY ? 'day' : unit === HOUR ? 'hour' : unit === MINUTE ? 'minute' : 'second';
  if (everyMs % unit !== 0) {
    // Rounding down then makes the next run come due before the interval has passed; celery beat
    // next asks the entry when it comes up in its heap, i.e. when its other entries let it: every
    // whole unit when it is alone, about every interval among others. No schedule says that.
    return {
      reason: `relative=True with an interval of ${formatDuration(everyMs)}, not a whole number of ${unitName}s: celery beat rounds each run down to the whole ${unitName}, so when it sends it depends on the other entries of its schedule (every ${unitName} when it is alone); use an interval of whole ${unitName}s, crontab(...), or relative=False`,
    };
  }
  const effective = everyMs;
  const rounding: ImportNote = {
    option: 'relative',
    value: 'True',
    kind: 'mapped',
    reason: `Celery rounds each run down to the whole ${unitName}: a grid on whole ${unitName}s`,
  };
  const rules = ZoneRules.get(zone, 'timezone');
  if (unit === DAY && hasOffsetChanges(rules, lastRunAt ?? now)) {
    if (effective !== DAY) {
      return {
        reason: `relative=True with an interval of ${seconds / 86400} days in ${zone}, which changes its UTC offset: Celery rounds each run down to local midnight, which is neither a fixed interval nor a crontab. Use crontab(...) or relative=False`,
      };
    }
    return { spec: { kind: 'crontab', cron: { minute: 0, hour: 0 }, timezone: zone }, notes: [rounding] };
  }
  // A wall-clock boundary of the unit at (or before) the last run, or near the epoch.
  const reference = lastRunAt ?? Date.UTC(2000, 0, 1);
  const offset = rules.offsetAt(reference);
  const boundary = Math.floor((reference + offset) / unit) * unit - offset;
  // The Unix epoch's grid (no anchor) when it is the same grid.
  const grid = boundary % effective === 0 ? null : boundary;
  return { spec: { kind: 'interval', every: effective, anchor: anchor(grid) }, notes: [rounding] };
}

/** Whether the zone changes its UTC offset within 400 days of `from`. */
function hasOffsetChanges(rules: ZoneRules, from: number): boolean {
  const first = rules.offsetAt(from);
  for (let t = from; t < from + 400 * DAY; t += 7 * DAY) if (rules.offsetAt(t) !== first) return true;
  return false;
}
