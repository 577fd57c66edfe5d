/**
 * Example declarations (crontab). `npx beat sync` puts them in the database; `npx beat list` shows
 * them. Every option and its default: docs/schedules.md.
 */
import { crontab, defineSchedule } from 'metronome';

/** Every night at 02:30 Berlin time (on the spring-forward night 02:30 does not exist: it runs at 03:30). */
export const nightlyReport = defineSchedule({
  name: 'reports.nightly',
  task: 'reports.nightly',
  schedule: crontab('30 2 * * *', { tz: 'Europe/Berlin' }),
  kwargs: { format: 'pdf' },
  queue: 'reports',
  expires: '1h',
  description: 'The nightly PDF report for the previous day',
});

/**
 * Celery's object form, with Celery's rule that all fields must match: 08:00 New York time on the
 * first Monday of every month (`dayOfMonth: '1-7'` and `dayOfWeek: 1`).
 */
export const monthlyInvoices = defineSchedule({
  name: 'billing.monthly_invoices',
  task: 'billing.tasks.send_invoices',
  schedule: crontab({ minute: 0, hour: 8, dayOfWeek: 1, dayOfMonth: '1-7' }, { tz: 'America/New_York' }),
  timeLimit: '30m',
  softTimeLimit: '25m',
  overlap: 'skip',
});
