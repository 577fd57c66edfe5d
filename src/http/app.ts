/**
 * The dashboard and the JSON API, mounted on the beat's HTTP server (src/http/server.ts hands every
 * request to `handle` first; it answers the paths below and leaves /healthz, /readyz, /metrics to
 * the server). Routes, methods and the mapping of failures to statuses live here; the endpoints in
 * api/, the pages in dashboard/, the data in src/observe/, the actions in src/operate/.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import type { RunLocks } from '../locks/index.ts';
import { ForecastCache } from '../observe/forecast.ts';
import {
  deleteSkip,
  postDisable,
  postEnable,
  postPause,
  postResume,
  postSkip,
  postTrigger,
} from './api/actions.ts';
import { getBackfills, postBackfill, postCancelBackfills } from './api/backfill.ts';
import { deleteCalendar, getCalendar, getCalendars, putCalendar } from './api/calendars.ts';
import { checkHost, isLoopbackHost, type ReadAccess, requireReadToken } from './api/guard.ts';
import {
  getActions,
  getDeadlines,
  getEvents,
  getForecast,
  getIndex,
  getNow,
  getOccurrences,
  getOpenApi,
  getSchedule,
  getSchedules,
  getTimeline,
} from './api/reads.ts';
import { ApiError, sendError } from './api/respond.ts';
import {
  deleteSchedule,
  operationRefusal,
  patchScheduleRoute,
  postBulk,
  postSchedule,
  putSchedule,
} from './api/writes.ts';
import type { AppContext, Handler } from './context.ts';
import { serveAsset } from './dashboard/assets.ts';
import { sendPage } from './dashboard/layout.ts';
import { errorPage } from './dashboard/pages/error.ts';
import { forecastPage } from './dashboard/pages/forecast.ts';
import { nowPage } from './dashboard/pages/now.ts';
import { schedulePage } from './dashboard/pages/schedule.ts';
import { schedulesPage } from './dashboard/pages/schedules.ts';
import { LiveHub } from './live.ts';
import { parseBind } from './server.ts';

export interface DashboardOptions {
  database: Database;
  locks: RunLocks | null;
  group: string;
  token: string | undefined;
  /** The server's METRONOME_HTTP bind: on loopback, only loopback Host names are answered. */
  bind: string;
  /** Who may read (METRONOME_API_READS, src/http/api/guard.ts); default open. */
  reads?: ReadAccess;
  log: Logger;
  /** How often live pages' data is checked for changes; default 1 s. */
  livePollMs?: number;
  replicaAliveMs?: number;
}

export interface Dashboard {
  /** Answer the request if it is the dashboard's or the API's; false leaves it to the caller. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** End the live streams (an HTTP server does not close while they are open). */
  close(): Promise<void>;
}

type Kind = 'api' | 'page' | 'asset';
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
type Method = (typeof METHODS)[number];
export interface Route extends Partial<Record<Method, Handler>> {
  kind: Kind;
  path: RegExp;
}

const NAME = '([^/]+)';
const api = (path: string) => new RegExp(`^/api/v1${path}$`);

export const ROUTES: Route[] = [
  { kind: 'api', path: /^\/api\/v1\/?$/, GET: getIndex },
  { kind: 'api', path: api('/openapi.json'), GET: getOpenApi },
  { kind: 'api', path: api('/schedules'), GET: getSchedules, POST: postSchedule },
  {
    kind: 'api',
    path: api(`/schedules/${NAME}`),
    GET: getSchedule,
    PUT: putSchedule,
    PATCH: patchScheduleRoute,
    DELETE: deleteSchedule,
  },
  { kind: 'api', path: api('/bulk/schedules'), POST: postBulk },
  { kind: 'api', path: api(`/schedules/${NAME}/occurrences`), GET: getOccurrences },
  { kind: 'api', path: api(`/schedules/${NAME}/timeline`), GET: getTimeline },
  { kind: 'api', path: api(`/schedules/${NAME}/deadlines`), GET: getDeadlines },
  { kind: 'api', path: api(`/schedules/${NAME}/pause`), POST: postPause },
  { kind: 'api', path: api(`/schedules/${NAME}/resume`), POST: postResume },
  { kind: 'api', path: api(`/schedules/${NAME}/skip`), POST: postSkip, DELETE: deleteSkip },
  { kind: 'api', path: api(`/schedules/${NAME}/trigger`), POST: postTrigger },
  { kind: 'api', path: api(`/schedules/${NAME}/backfill`), POST: postBackfill },
  { kind: 'api', path: api(`/schedules/${NAME}/backfills`), GET: getBackfills },
  { kind: 'api', path: api(`/schedules/${NAME}/backfills/cancel`), POST: postCancelBackfills },
  { kind: 'api', path: api(`/schedules/${NAME}/enable`), POST: postEnable },
  { kind: 'api', path: api(`/schedules/${NAME}/disable`), POST: postDisable },
  { kind: 'api', path: api('/calendars'), GET: getCalendars },
  {
    kind: 'api',
    path: api(`/calendars/${NAME}`),
    GET: getCalendar,
    PUT: putCalendar,
    DELETE: deleteCalendar,
  },
  { kind: 'api', path: api('/now'), GET: getNow },
  { kind: 'api', path: api('/next-24h'), GET: getForecast },
  { kind: 'api', path: api('/actions'), GET: getActions },
  { kind: 'api', path: api('/events'), GET: getEvents },
  { kind: 'page', path: /^\/$/, GET: schedulesPage },
  { kind: 'page', path: new RegExp(`^/schedules/${NAME}$`), GET: schedulePage },
  { kind: 'page', path: /^\/now$/, GET: nowPage },
  { kind: 'page', path: /^\/next-24h$/, GET: forecastPage },
  { kind: 'asset', path: /^\/assets\/([\w.-]+)$/, GET: serveAsset },
];

export function createDashboard(options: DashboardOptions): Dashboard {
  const app: AppContext = {
    database: options.database,
    locks: options.locks,
    group: options.group,
    token: options.token || undefined,
    hub: new LiveHub(options.database, options.group, options.log, options.livePollMs ?? 1_000),
    forecast: new ForecastCache(options.database, 60_000),
    log: options.log,
    replicaAliveMs: options.replicaAliveMs ?? 15_000,
    reads: options.reads ?? 'open',
  };
  const loopbackOnly = isLoopbackHost(parseBind(options.bind).host);
  return {
    handle(req, res) {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const found = route(url.pathname);
      if (!found) {
        if (!url.pathname.startsWith('/api/')) return false;
        sendError(
          res,
          new ApiError(404, 'no_such_endpoint', `no endpoint ${url.pathname}; GET /api/v1 lists them`),
        );
        return true;
      }
      void dispatch(app, found.route, found.match, req, res, url, loopbackOnly);
      return true;
    },
    close: () => app.hub.close(),
  };
}

function route(path: string): { route: Route; match: RegExpExecArray } | null {
  for (const r of ROUTES) {
    const match = r.path.exec(path);
    if (match) return { route: r, match };
  }
  return null;
}

async function dispatch(
  app: AppContext,
  r: Route,
  match: RegExpExecArray,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  loopbackOnly: boolean,
): Promise<void> {
  try {
    checkHost(req, loopbackOnly);
    // One decision for every page and API route (assets, probes and metrics stay open).
    if (app.reads === 'token' && r.kind !== 'asset') requireReadToken(req, app.token);
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const handler = METHODS.includes(method as Method) ? r[method as Method] : undefined;
    if (!handler) {
      const allow = METHODS.filter((m) => r[m])
        .map((m) => (m === 'GET' ? 'GET, HEAD' : m))
        .join(', ');
      throw new ApiError(405, 'method_not_allowed', `${req.method} is not allowed here; use ${allow}`, {
        allow,
      });
    }
    const params = match.slice(1).map(decodeParam);
    await handler({ req, res, url, params, app });
  } catch (error) {
    const refusal = asApiError(error, app.log);
    if (r.kind === 'page') sendPage(res, refusal.status, errorPage(refusal), app, refusal.headers);
    else sendError(res, refusal);
  }
}

function decodeParam(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ApiError(400, 'bad_name', `${JSON.stringify(text)} is not a valid percent-encoded name`);
  }
}

/** Every failure as an HTTP refusal: the caller's mistakes are 4xx with the fix; ours are 500. */
function asApiError(error: unknown, log: Logger): ApiError {
  if (error instanceof ApiError) return error;
  const refusal = operationRefusal(error);
  if (refusal) return refusal;
  const code = ((error as { cause?: unknown })?.cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && code.startsWith('23')) {
    return new ApiError(409, 'refused_by_database', 'the database refused the change (a concurrent edit?)');
  }
  if (typeof code === 'string' && code.startsWith('22')) {
    // A value the database cannot take (class 22, data exception): the caller's input, not our fault.
    log.debug({ err: error }, 'dashboard request refused by the database');
    return new ApiError(400, 'bad_value', 'the database cannot take a value in this request; check it');
  }
  log.error({ err: error }, 'dashboard request failed');
  return new ApiError(500, 'internal', 'the beat could not answer (see its log); it keeps running');
}
