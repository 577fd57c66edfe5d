/**
 * Read django-celery-beat's periodic tasks with their schedules (its tables as its migrations up to
 * 2.4 create them), with plain SQL: no Django is needed at import time.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/database.ts';

export interface PeriodicTaskRow {
  id: number;
  name: string;
  task: string;
  args: string | null;
  kwargs: string | null;
  queue: string | null;
  exchange: string | null;
  routing_key: string | null;
  headers: string | null;
  priority: number | null;
  expires: Date | null;
  expire_seconds: number | null;
  one_off: boolean;
  start_time: Date | null;
  enabled: boolean;
  last_run_at: Date | null;
  total_run_count: number;
  description: string | null;
  interval_id: number | null;
  crontab_id: number | null;
  solar_id: number | null;
  clocked_id: number | null;
  interval_every: number | null;
  interval_period: string | null;
  cron_minute: string | null;
  cron_hour: string | null;
  cron_day_of_week: string | null;
  cron_day_of_month: string | null;
  cron_month_of_year: string | null;
  cron_timezone: string | null;
  solar_event: string | null;
  /** numeric(9, 6), as text: no precision lost on the way. */
  solar_latitude: string | null;
  solar_longitude: string | null;
  clocked_time: Date | null;
}

export class MissingTablesError extends Error {}

export async function readPeriodicTasks(database: Database): Promise<PeriodicTaskRow[]> {
  let rows: Record<string, unknown>[];
  try {
    rows = await database.rows(sql`
      select t.id, t.name, t.task, t.args, t.kwargs, t.queue, t.exchange, t.routing_key, t.headers,
             t.priority, t.expires, t.expire_seconds, t.one_off, t.start_time, t.enabled, t.last_run_at,
             t.total_run_count, t.description, t.interval_id, t.crontab_id, t.solar_id, t.clocked_id,
             i.every as interval_every, i.period as interval_period,
             c.minute as cron_minute, c.hour as cron_hour, c.day_of_week as cron_day_of_week,
             c.day_of_month as cron_day_of_month, c.month_of_year as cron_month_of_year,
             c.timezone as cron_timezone,
             s.event as solar_event, s.latitude::text as solar_latitude, s.longitude::text as solar_longitude,
             k.clocked_time
        from django_celery_beat_periodictask t
        left join django_celery_beat_intervalschedule i on i.id = t.interval_id
        left join django_celery_beat_crontabschedule c on c.id = t.crontab_id
        left join django_celery_beat_solarschedule s on s.id = t.solar_id
        left join django_celery_beat_clockedschedule k on k.id = t.clocked_id
       order by t.name`);
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause ?? error;
    if ((cause as { code?: string }).code === '42P01' || (cause as { code?: string }).code === '42703') {
      throw new MissingTablesError(
        `no django-celery-beat tables (2.x) in ${database.target}: ${(cause as Error).message}. Point --database-url at your Django database, where 'python manage.py migrate django_celery_beat' created them`,
      );
    }
    throw error;
  }
  return rows.map((r) => ({
    ...(r as unknown as PeriodicTaskRow),
    id: Number(r.id),
    priority: r.priority === null ? null : Number(r.priority),
    expire_seconds: r.expire_seconds === null ? null : Number(r.expire_seconds),
    total_run_count: Number(r.total_run_count ?? 0),
    interval_every: r.interval_every === null ? null : Number(r.interval_every),
    expires: instant(r.expires),
    start_time: instant(r.start_time),
    last_run_at: instant(r.last_run_at),
    clocked_time: instant(r.clocked_time),
  }));
}

function instant(value: unknown): Date | null {
  return value === null || value === undefined ? null : new Date(value as string | Date);
}
