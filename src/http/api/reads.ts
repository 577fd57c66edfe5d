/** The API's read endpoints: each parses its parameters, asks src/observe/, and answers JSON. */

import { recentActions } from '../../db/sql/audit.ts';
import { calendarsOf } from '../../db/sql/calendars.ts';
import { findSchedule } from '../../db/sql/schedules-read.ts';
import { databaseNow } from '../../db/store.ts';
import { deadlineReport } from '../../observe/deadline-report.ts';
import { scheduleOccurrences } from '../../observe/history.ts';
import { scheduleDetail } from '../../observe/schedule-detail.ts';
import { viewRecord } from '../../observe/schedule-view.ts';
import { listSchedules } from '../../observe/schedules.ts';
import { nowView } from '../../observe/status.ts';
import { scheduleTimeline } from '../../observe/timeline.ts';
import { VERSION } from '../../version.ts';
import type { Exchange } from '../context.ts';
import { openApiDocument } from './openapi.ts';
import { instantParam, intParam, scheduleFilter, statusesParam } from './params.ts';
import { ApiError, sendJson } from './respond.ts';

const API_VERSION = 1;

export function noSchedule(name: string): ApiError {
  return new ApiError(404, 'not_found', `no schedule named ${JSON.stringify(name)}`);
}

export async function getIndex({ res, app }: Exchange): Promise<void> {
  sendJson(res, 200, {
    version: API_VERSION,
    group: app.group,
    mutations: app.token ? 'token' : 'disabled',
    endpoints: [
      'GET /api/v1/openapi.json',
      'GET /api/v1/schedules',
      'POST /api/v1/schedules',
      'GET /api/v1/schedules/{name}',
      'PUT /api/v1/schedules/{name}',
      'PATCH /api/v1/schedules/{name}',
      'DELETE /api/v1/schedules/{name}',
      'POST /api/v1/bulk/schedules',
      'GET /api/v1/schedules/{name}/occurrences',
      'GET /api/v1/schedules/{name}/timeline',
      'GET /api/v1/schedules/{name}/deadlines',
      'POST /api/v1/schedules/{name}/pause',
      'POST /api/v1/schedules/{name}/resume',
      'POST /api/v1/schedules/{name}/trigger',
      'POST /api/v1/schedules/{name}/backfill',
      'GET /api/v1/schedules/{name}/backfills',
      'POST /api/v1/schedules/{name}/backfills/cancel',
      'POST /api/v1/schedules/{name}/enable',
      'POST /api/v1/schedules/{name}/disable',
      'GET /api/v1/calendars',
      'GET /api/v1/calendars/{name}',
      'PUT /api/v1/calendars/{name}',
      'DELETE /api/v1/calendars/{name}',
      'GET /api/v1/now',
      'GET /api/v1/next-24h',
      'GET /api/v1/actions',
      'GET /api/v1/events',
    ],
  });
}

export async function getOpenApi({ res }: Exchange): Promise<void> {
  sendJson(res, 200, openApiDocument(VERSION));
}

export async function getSchedules({ res, url, app }: Exchange): Promise<void> {
  const filter = scheduleFilter(url);
  const limit = intParam(url, 'limit', 200, 1, 1000);
  const offset = intParam(url, 'offset', 0, 0, 10_000_000);
  sendJson(res, 200, await listSchedules(app.database, filter, { limit, offset }));
}

export async function getSchedule({ res, params, app }: Exchange): Promise<void> {
  const found = await scheduleDetail(app.database, app.locks, params[0]!);
  if (!found) throw noSchedule(params[0]!);
  // The version as the ETag: `If-Match` with it makes a PUT, PATCH or DELETE conditional.
  sendJson(res, 200, found.detail, { etag: `"${found.view.record.version}"` });
}

export async function getOccurrences({ res, url, params, app }: Exchange): Promise<void> {
  const name = params[0]!;
  const limit = intParam(url, 'limit', 50, 1, 1000);
  const before = instantParam(url, 'before');
  const statuses = statusesParam(url);
  const occurrences = await scheduleOccurrences(app.database, name, {
    limit,
    ...(before ? { before } : {}),
    ...(statuses ? { statuses } : {}),
  });
  // History outlives its schedule: a removed schedule's name still answers while it has rows.
  if (occurrences.length === 0 && !before && !(await findSchedule(app.database.db, name))) {
    throw noSchedule(name);
  }
  const last = occurrences[occurrences.length - 1];
  sendJson(res, 200, {
    occurrences,
    next: occurrences.length === limit && last ? last.scheduledFor : null,
  });
}

export async function getTimeline({ res, url, params, app }: Exchange): Promise<void> {
  const hours = intParam(url, 'hours', 24, 1, 168);
  const record = await findSchedule(app.database.db, params[0]!);
  if (!record) throw noSchedule(params[0]!);
  const now = await databaseNow(app.database);
  const calendars = await calendarsOf(app.database.db, [record]);
  sendJson(res, 200, await scheduleTimeline(app.database, viewRecord(record, now, calendars), now, hours));
}

export async function getDeadlines({ res, params, app }: Exchange): Promise<void> {
  const record = await findSchedule(app.database.db, params[0]!);
  if (!record) throw noSchedule(params[0]!);
  sendJson(res, 200, await deadlineReport(app.database, record, await databaseNow(app.database)));
}

export async function getNow({ res, app }: Exchange): Promise<void> {
  sendJson(res, 200, await nowView(app.database, { group: app.group, replicaAliveMs: app.replicaAliveMs }));
}

export async function getForecast({ res, app }: Exchange): Promise<void> {
  sendJson(res, 200, await app.forecast.get());
}

export async function getActions({ res, url, app }: Exchange): Promise<void> {
  const limit = intParam(url, 'limit', 50, 1, 1000);
  const schedule = url.searchParams.get('schedule') || undefined;
  sendJson(res, 200, { actions: await recentActions(app.database.db, limit, schedule) });
}

export async function getEvents({ res, app }: Exchange): Promise<void> {
  if (!app.hub.add(res)) {
    throw new ApiError(
      503,
      'too_many_listeners',
      'too many live pages are open on this beat; try again later',
      {
        'retry-after': '30',
      },
    );
  }
}
