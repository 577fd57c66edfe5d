/**
 * django-celery-beat's own times for `--check`, from python/metronome_django.py: each task rebuilt as
 * an unsaved django-celery-beat model, asked `is_due` the way its DatabaseScheduler asks.
 */
import type { TimesAnswer } from './celery-app.ts';
import type { CeleryTimes } from './check/check.ts';
import { runPythonHelper } from './python.ts';
import type { PeriodicTaskRow } from './sql/read-periodic-tasks.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function taskRequest(row: PeriodicTaskRow) {
  return {
    name: row.name,
    crontab:
      row.crontab_id === null
        ? null
        : {
            minute: row.cron_minute,
            hour: row.cron_hour,
            day_of_week: row.cron_day_of_week,
            day_of_month: row.cron_day_of_month,
            month_of_year: row.cron_month_of_year,
            timezone: row.cron_timezone,
          },
    interval: row.interval_id === null ? null : { every: row.interval_every, period: row.interval_period },
    solar:
      row.solar_id === null
        ? null
        : { event: row.solar_event, latitude: row.solar_latitude, longitude: row.solar_longitude },
    clocked: row.clocked_id === null ? null : { clocked_time: iso(row.clocked_time) },
    start_time: iso(row.start_time),
    one_off: row.one_off,
  };
}

/** Celery's times for these rows, in the project's zone (its CELERY_TIMEZONE / TIME_ZONE). */
export function djangoTimes(rows: PeriodicTaskRow[], python: string, timezone: string): CeleryTimes {
  const byName = new Map(rows.map((r) => [r.name, r]));
  return (requests) =>
    runPythonHelper<TimesAnswer>({
      python,
      script: 'metronome_django.py',
      args: ['times'],
      input: {
        timezone,
        tasks: requests.map((r) => ({ ...taskRequest(byName.get(r.name)!), segments: r.segments })),
      },
      what: "computing django-celery-beat's times",
    });
}
