/**
 * One django-celery-beat periodic task (a row of its tables, src/import/sql/read-periodic-tasks.ts)
 * into the Metronome declaration it becomes. Pure.
 *
 * The crontab keeps its own time zone (django-celery-beat's TzAwareCrontab) and Celery's meaning
 * (all fields must match); an interval is a grid anchored at the task's last run (so the first
 * Metronome fire is where celery beat's next one would be), or at its start_time, or at the Unix
 * epoch; solar and clocked carry over as they are. `one_off` is `maxRuns: 1`, `start_time` is
 * `startAt`, `expire_seconds` is `expires`, an `expires` instant is `endAt`.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../model/index.ts';
import type { ScheduleSpec } from '../time/index.ts';
import {
  CELERY_FIELDS,
  CeleryCrontabError,
  type CeleryFieldKey,
  parseCeleryField,
} from './celery-crontab.ts';
import { type CeleryFieldSets, toCronFields } from './cron-fields.ts';
import type { Converted, ImportNote } from './entry.ts';
import { type ConvertOptions, intervalSpec, solarNotes } from './from-celery.ts';
import { mapOptions } from './options.ts';
import { negativeZeroNotes, pythonJson } from './python-json.ts';
import type { PeriodicTaskRow } from './sql/read-periodic-tasks.ts';

const PERIOD_SECONDS: Record<string, number> = {
  days: 86_400,
  hours: 3_600,
  minutes: 60,
  seconds: 1,
  microseconds: 1e-6,
};

export function fromPeriodicTask(row: PeriodicTaskRow, options: ConvertOptions): Converted {
  const origin = `periodic task ${JSON.stringify(row.name)} (id ${row.id})`;
  const problem = (reason: string): Converted => ({ problem: { origin, reason } });
  const spec = scheduleSpec(row, options.now);
  if ('reason' in spec) return problem(spec.reason);
  const args = parseJsonColumn(row.args, '[]', 'args', 'array');
  if ('reason' in args) return problem(args.reason);
  const kwargs = parseJsonColumn(row.kwargs, '{}', 'kwargs', 'object');
  if ('reason' in kwargs) return problem(kwargs.reason);
  const headers = parseJsonColumn(row.headers, '{}', 'headers', 'object');
  if ('reason' in headers) return problem(headers.reason);
  const mapped = mapOptions(
    {
      queue: row.queue,
      exchange: row.exchange,
      routing_key: row.routing_key,
      priority: row.priority,
      ...(Object.keys(headers.value as JsonObject).length > 0 ? { headers: headers.value } : {}),
      expires: row.expires ? { $datetime: row.expires.toISOString() } : row.expire_seconds || null,
    },
    '',
  );
  const notes: ImportNote[] = [
    ...spec.notes,
    ...mapped.notes,
    ...negativeZeroNotes({
      args: args.value as JsonValue[],
      kwargs: kwargs.value,
      headers: headers.value,
    }),
  ];
  return {
    entry: {
      name: row.name,
      origin,
      declaration: {
        name: row.name,
        task: row.task,
        schedule: spec.spec,
        ...((args.value as JsonValue[]).length > 0 ? { args: args.value as JsonValue[] } : {}),
        ...(Object.keys(kwargs.value as JsonObject).length > 0 ? { kwargs: kwargs.value as JsonObject } : {}),
        ...mapped.options,
        ...(row.enabled ? {} : { enabled: false }),
        ...(row.one_off ? { maxRuns: 1 } : {}),
        ...(row.start_time ? { startAt: row.start_time.toISOString() } : {}),
        ...(row.description ? { description: row.description } : {}),
        ...options.defaults,
      },
      notes,
      lastRunAt: row.last_run_at ? row.last_run_at.getTime() : null,
      totalRuns: row.total_run_count,
    },
  };
}

type SpecResult = { spec: ScheduleSpec; notes: ImportNote[] } | { reason: string };

function scheduleSpec(row: PeriodicTaskRow, now: number): SpecResult {
  const kinds = (['interval', 'crontab', 'solar', 'clocked'] as const).filter(
    (kind) => row[`${kind}_id`] !== null && row[`${kind}_id`] !== undefined,
  );
  if (kinds.length !== 1) {
    return {
      reason:
        kinds.length === 0
          ? 'it has no schedule (none of interval, crontab, solar, clocked is set)'
          : `it has ${kinds.length} schedules (${kinds.join(', ')}); django-celery-beat allows exactly one`,
    };
  }
  switch (kinds[0]!) {
    case 'interval': {
      const unit = PERIOD_SECONDS[row.interval_period ?? ''];
      if (unit === undefined || row.interval_every === null) {
        return {
          reason: `interval period ${JSON.stringify(row.interval_period)} is not one of ${Object.keys(PERIOD_SECONDS).join(', ')}`,
        };
      }
      const anchor = row.last_run_at?.getTime() ?? row.start_time?.getTime() ?? null;
      return intervalSpec(row.interval_every * unit, false, 'UTC', anchor, now);
    }
    case 'crontab':
      return crontabSpec(row);
    case 'solar':
      return {
        spec: {
          kind: 'solar',
          event: row.solar_event as never,
          latitude: Number(row.solar_latitude),
          longitude: Number(row.solar_longitude),
        },
        notes: solarNotes(row.solar_event ?? ''),
      };
    case 'clocked':
      return { spec: { kind: 'clocked', runAt: row.clocked_time?.toISOString() ?? '' }, notes: [] };
  }
}

const CRON_COLUMNS: Record<CeleryFieldKey, keyof PeriodicTaskRow> = {
  minute: 'cron_minute',
  hour: 'cron_hour',
  dayOfWeek: 'cron_day_of_week',
  dayOfMonth: 'cron_day_of_month',
  monthOfYear: 'cron_month_of_year',
};

function crontabSpec(row: PeriodicTaskRow): SpecResult {
  const sets = {} as CeleryFieldSets;
  for (const key of Object.keys(CRON_COLUMNS) as CeleryFieldKey[]) {
    const text = String(row[CRON_COLUMNS[key]] ?? '*');
    try {
      sets[key] = { orig: text, values: parseCeleryField(text, CELERY_FIELDS[key]) };
    } catch (error) {
      if (!(error instanceof CeleryCrontabError)) throw error;
      return {
        reason: `crontab ${CELERY_FIELDS[key].name} ${JSON.stringify(text)} is invalid: ${error.message} (Celery's crontab syntax: numbers, ranges a-b, steps */n or a-b/n, lists, weekday names)`,
      };
    }
  }
  const cron = toCronFields(sets);
  if ('empty' in cron) return { reason: `crontab ${CELERY_FIELDS[cron.empty].name} has no values` };
  return { spec: { kind: 'crontab', cron, timezone: row.cron_timezone ?? 'UTC' }, notes: [] };
}

function parseJsonColumn(
  text: string | null,
  empty: string,
  column: string,
  shape: 'array' | 'object',
): { value: unknown } | { reason: string } {
  let value: unknown;
  try {
    // As django-celery-beat reads it (Python's json.loads) and celery beat then sends it.
    value = pythonJson(text?.trim() ? text : empty);
  } catch (error) {
    return {
      reason: `${column} ${JSON.stringify(text)} is not valid JSON (${(error as Error).message}); django-celery-beat would disable the task`,
    };
  }
  const ok = shape === 'array' ? Array.isArray(value) : isJsonObject(value);
  if (!ok) return { reason: `${column} ${JSON.stringify(text)} is not a JSON ${shape}` };
  return { value };
}
