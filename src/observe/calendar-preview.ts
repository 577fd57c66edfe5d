/**
 * What an edit of a business calendar would do, before it lands: for each schedule that names the
 * calendar, its next fires before and after (with their calendar marks) and what would run at once.
 * The edit is made in a transaction that is then rolled back, so the preview is exactly the edit
 * (the same checks, the same refusals, a range split the same way) and nothing is written: no
 * notification leaves a transaction that does not commit.
 */

import { sql } from 'drizzle-orm';
import type { Database } from '../db/database.ts';
import { schedules } from '../db/schema.ts';
import { calendarLookup, namedCalendars } from '../db/sql/calendars.ts';
import { databaseNow } from '../db/store.ts';
import type { CalendarStep } from '../operate/calendar.ts';
import { previewBeforeOf, previewEdit, type SchedulePreview } from './preview.ts';

export interface CalendarPreview {
  calendar: string;
  /** One preview per schedule that names the calendar, by name. */
  schedules: SchedulePreview[];
}

class Previewed extends Error {
  constructor(readonly preview: CalendarPreview) {
    super('previewed: rolled back');
  }
}

export async function previewCalendarEdit(database: Database, step: CalendarStep): Promise<CalendarPreview> {
  try {
    await database.db.transaction(async (tx) => {
      const now = await databaseNow(database, tx);
      const rows = await tx
        .select()
        .from(schedules)
        .where(sql`${schedules.calendars} @> array[${step.name}]::text[]`)
        .orderBy(schedules.name);
      const names = namedCalendars(rows);
      const before = (await calendarLookup(tx, names)).lookup;
      await step.run(tx);
      const after = (await calendarLookup(tx, names)).lookup;
      throw new Previewed({
        calendar: step.name,
        schedules: rows.map((row) =>
          previewEdit({
            name: row.name,
            before: previewBeforeOf(row),
            after: previewBeforeOf(row).fields,
            now,
            calendars: before,
            calendarsAfter: after,
            calendarChanged: true,
          }),
        ),
      });
    });
  } catch (error) {
    if (error instanceof Previewed) return error.preview;
    throw error;
  }
  throw new Error('a calendar preview must roll back');
}
