/**
 * The API's business calendars: read them (GET /calendars, GET /calendars/NAME, open like every
 * read), replace one kept in the database (PUT /calendars/NAME: its weekdays, days and description,
 * created when absent) and delete one (DELETE /calendars/NAME; refused while schedules name it,
 * unless `?force=true`). Writes are behind the token like the schedules' (guard.ts), refused for a
 * calendar declared in code (409), and apply to the schedules that name the calendar at once.
 */
import { z } from 'zod';
import { previewCalendarEdit } from '../../observe/calendar-preview.ts';
import { calendarDetail, listCalendars } from '../../observe/calendars.ts';
import {
  applyCalendarEdit,
  type CalendarStep,
  checkWeekdays,
  deleteStep,
  importDaysStep,
} from '../../operate/calendar.ts';
import { OperationError } from '../../operate/errors.ts';
import type { Exchange } from '../context.ts';
import { readJsonBody } from './body.ts';
import { apiActor, requireToken } from './guard.ts';
import { previewParam } from './params.ts';
import { ApiError, send, sendJson } from './respond.ts';

const DAY_MS = 86_400_000;
const today = () => Math.floor(Date.now() / DAY_MS);

const calendarBody = z
  .object({
    weekdays: z
      .array(z.union([z.int(), z.string()]))
      .max(7)
      .optional(),
    days: z
      .array(
        z.union([
          z.string(),
          z.object({ from: z.string(), to: z.string(), label: z.string().max(200).optional() }).strict(),
        ]),
      )
      .max(100_000)
      .optional(),
    description: z.string().max(10_000).nullable().optional(),
  })
  .strict();

function noCalendar(name: string): ApiError {
  return new ApiError(404, 'not_found', `no calendar named ${JSON.stringify(name)}`);
}

/** A refusal of a calendar's input: invalid is a 422 naming it; the rest as for schedules. */
function refusal(error: unknown): never {
  if (error instanceof OperationError && error.code === 'invalid') {
    throw new ApiError(422, 'invalid_calendar', error.message);
  }
  throw error;
}

export async function getCalendars({ res, app }: Exchange): Promise<void> {
  sendJson(res, 200, { calendars: await listCalendars(app.database, today()) });
}

export async function getCalendar({ res, params, app }: Exchange): Promise<void> {
  const detail = await calendarDetail(app.database, params[0]!, today());
  if (!detail) throw noCalendar(params[0]!);
  sendJson(res, 200, detail, { etag: `"${detail.version}"` });
}

export async function putCalendar(exchange: Exchange): Promise<void> {
  const { req, res, params, app, url } = exchange;
  requireToken(req, app.token);
  const name = params[0]!;
  const body = await readJsonBody(req, calendarBody);
  const days = (body.days ?? []).map((d) => (typeof d === 'string' ? { from: d, to: d } : d));
  let step: CalendarStep;
  try {
    step = importDaysStep(name, days, {
      weekdays: checkWeekdays(body.weekdays ?? []),
      description: body.description ?? null,
    });
  } catch (error) {
    refusal(error);
  }
  if (previewParam(url)) return sendJson(res, 200, await previewCalendarEdit(app.database, step));
  const { created } = await applyCalendarEdit(app.database, step, apiActor(req));
  app.hub.poke();
  const detail = await calendarDetail(app.database, name, today());
  sendJson(res, created ? 201 : 200, detail, {
    etag: `"${detail?.version ?? 0}"`,
    ...(created ? { location: `/api/v1/calendars/${encodeURIComponent(name)}` } : {}),
  });
}

export async function deleteCalendar(exchange: Exchange): Promise<void> {
  const { req, res, params, app, url } = exchange;
  requireToken(req, app.token);
  const step = deleteStep(params[0]!, { force: url.searchParams.get('force') === 'true' });
  if (previewParam(url)) return sendJson(res, 200, await previewCalendarEdit(app.database, step));
  await applyCalendarEdit(app.database, step, apiActor(req));
  app.hub.poke();
  send(res, 204, 'text/plain', '');
}
