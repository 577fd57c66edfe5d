/**
 * The API's mutations: the same operations as `beat pause|resume|skip|trigger|enable|disable`
 * (src/operate/), behind the token and the cross-site checks (guard.ts), each recorded in the
 * audit log with who asked.
 */

import { z } from 'zod';
import { calendarsOf } from '../../db/sql/calendars.ts';
import { databaseNow } from '../../db/store.ts';
import type { ScheduleRecord } from '../../model/index.ts';
import { viewRecord } from '../../observe/schedule-view.ts';
import { latestOccurrences, summarize } from '../../observe/schedules.ts';
import { setEnabled } from '../../operate/enable.ts';
import { pause, resume } from '../../operate/pause.ts';
import { clearSkip, MAX_SKIP_COUNT, skip } from '../../operate/skip.ts';
import { awaitDispatch, trigger } from '../../operate/trigger.ts';
import type { Exchange, Handler } from '../context.ts';
import { readJsonBody } from './body.ts';
import { apiActor, requireToken } from './guard.ts';
import { sendJson } from './respond.ts';

const empty = z.object({}).strict();
const pauseBody = z
  .object({
    reason: z.string().trim().max(500).nullable().optional(),
    /** When it resumes by itself: ISO 8601 with an offset, or a duration from now (`2h`). */
    until: z.string().max(100).nullable().optional(),
  })
  .strict();
const skipBody = z
  .object({
    count: z.number().int().min(1).max(MAX_SKIP_COUNT).optional(),
    reason: z.string().max(500),
  })
  .strict();
const triggerBody = z
  .object({
    force: z.boolean().optional(),
    /** Seconds to wait for the leader to enqueue it (0: answer at once). */
    wait: z.number().min(0).max(10).optional(),
  })
  .strict();

/** Token and cross-site checks first: nothing is read from an unauthorised request but its headers. */
function guarded(handler: Handler): Handler {
  return async (exchange) => {
    requireToken(exchange.req, exchange.app.token);
    await handler(exchange);
    exchange.app.hub.poke();
  };
}

async function scheduleJson(exchange: Exchange, record: ScheduleRecord) {
  const now = await databaseNow(exchange.app.database);
  const latest = await latestOccurrences(exchange.app.database, [record.name]);
  const calendars = await calendarsOf(exchange.app.database.db, [record]);
  return summarize(viewRecord(record, now, calendars), now, latest.get(record.name) ?? null);
}

export const postPause = guarded(async (exchange) => {
  const body = await readJsonBody(exchange.req, pauseBody);
  const name = exchange.params[0]!;
  const { record, alreadyPaused } = await pause(
    exchange.app.database,
    name,
    { reason: body.reason || null, until: body.until ?? null },
    apiActor(exchange.req),
  );
  sendJson(exchange.res, 200, {
    action: 'pause',
    name,
    changed: !alreadyPaused,
    schedule: await scheduleJson(exchange, record),
  });
});

export const postResume = guarded(async (exchange) => {
  await readJsonBody(exchange.req, empty);
  const name = exchange.params[0]!;
  const { record, resumed } = await resume(exchange.app.database, name, apiActor(exchange.req));
  sendJson(exchange.res, 200, {
    action: 'resume',
    name,
    changed: resumed,
    schedule: await scheduleJson(exchange, record),
  });
});

export const postSkip = guarded(async (exchange) => {
  const body = await readJsonBody(exchange.req, skipBody);
  const name = exchange.params[0]!;
  const { record, previous } = await skip(
    exchange.app.database,
    name,
    { count: body.count ?? 1, reason: body.reason },
    apiActor(exchange.req),
  );
  sendJson(exchange.res, 200, {
    action: 'skip',
    name,
    changed: true,
    previous,
    schedule: await scheduleJson(exchange, record),
  });
});

export const deleteSkip = guarded(async (exchange) => {
  const name = exchange.params[0]!;
  const { record, previous } = await clearSkip(exchange.app.database, name, apiActor(exchange.req));
  sendJson(exchange.res, 200, {
    action: 'skip',
    name,
    changed: previous.count > 0,
    previous,
    schedule: await scheduleJson(exchange, record),
  });
});

function enableHandler(enabled: boolean): Handler {
  return guarded(async (exchange) => {
    await readJsonBody(exchange.req, empty);
    const name = exchange.params[0]!;
    const { record, changed } = await setEnabled(
      exchange.app.database,
      name,
      enabled,
      apiActor(exchange.req),
    );
    sendJson(exchange.res, 200, {
      action: enabled ? 'enable' : 'disable',
      name,
      changed,
      schedule: await scheduleJson(exchange, record),
    });
  });
}

export const postEnable = enableHandler(true);
export const postDisable = enableHandler(false);

export const postTrigger = guarded(async (exchange) => {
  const body = await readJsonBody(exchange.req, triggerBody);
  const name = exchange.params[0]!;
  const { database } = exchange.app;
  const { taskId, scheduledFor } = await trigger(database, name, body.force ?? false, apiActor(exchange.req));
  const outcome = await awaitDispatch(database, taskId, (body.wait ?? 2) * 1000);
  // 202 while no leader has sent it yet: it stays claimed and the next leader sends it.
  sendJson(exchange.res, outcome.status === 'claimed' ? 202 : 200, {
    action: 'trigger',
    name,
    changed: true,
    taskId,
    scheduledFor: new Date(scheduledFor).toISOString(),
    status: outcome.status,
    error: outcome.error,
  });
});
