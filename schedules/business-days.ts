/**
 * Example business calendar (docs/schedules.md, "Business calendars"). A public-holiday calendar
 * is best imported from its feed and named here by its name:
 *   npx beat calendar import holidays-de feiertage.ics
 * then `calendars: [weekends, 'holidays-de']`.
 */
import { crontab, defineCalendar, defineSchedule } from 'metronome';

/** Saturdays and Sundays. */
export const weekends = defineCalendar({ name: 'weekends', weekdays: ['sat', 'sun'] });

/**
 * The last business day of every month at 09:00 Berlin time: the month's last day, moved back to
 * the Friday before when it falls on a weekend.
 */
export const monthEndClose = defineSchedule({
  name: 'ledger.month_end_close',
  task: 'ledger.close_month',
  schedule: crontab('0 9 L * *', { tz: 'Europe/Berlin' }),
  calendars: [weekends],
  onExcluded: 'previous',
  description: 'Close the books on the last business day of the month',
});
