/**
 * The API's backfills: POST /api/v1/schedules/NAME/backfill (a dry run, or record one for the leader
 * to send: src/operate/backfill.ts), GET /api/v1/schedules/NAME/backfills (the schedule's
 * backfills, newest first, with how far each got) and POST .../backfills/cancel. The same operation as `beat backfill`.
 */
import { z } from 'zod';
import { findSchedule } from '../../db/sql/schedules-read.ts';
import { databaseNow } from '../../db/store.ts';
import { parseRate } from '../../model/backfill.ts';
import { backfillJson, planJson } from '../../observe/backfill-view.ts';
import { cancelBackfill, listBackfills, planBackfill, requestBackfill } from '../../operate/backfill.ts';
import type { Exchange } from '../context.ts';
import { readJsonBody } from './body.ts';
import { apiActor, requireToken } from './guard.ts';
import { noSchedule } from './reads.ts';
import { ApiError, sendJson } from './respond.ts';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

const backfillBody = z
  .object({
    /** ISO 8601 with an offset. */
    from: z.string(),
    /** ISO 8601 with an offset, or "now". */
    to: z.string(),
    /** `5/s`, `30/m`, or slots a second as a number. Default 1/s. */
    rate: z.union([z.string(), z.number()]).optional(),
    /** List the slots and record nothing. */
    dryRun: z.boolean().optional(),
    /** Needed for a range of more than 1000 slots. */
    confirm: z.boolean().optional(),
  })
  .strict();

function instant(text: string, field: string, now: number): number {
  if (field === 'to' && text.trim() === 'now') return now;
  const ms = ISO.test(text.trim()) ? Date.parse(text) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new ApiError(
      400,
      'bad_range',
      `${field} ${JSON.stringify(text)} is not an instant: use ISO 8601 with Z or an offset${field === 'to' ? ", or 'now'" : ''}`,
    );
  }
  return ms;
}

function rate(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseRate(String(value));
  } catch (error) {
    throw new ApiError(400, 'bad_rate', (error as Error).message.replace(/^--rate/, 'rate'));
  }
}

export async function postBackfill(exchange: Exchange): Promise<void> {
  requireToken(exchange.req, exchange.app.token);
  const body = await readJsonBody(exchange.req, backfillBody);
  const name = exchange.params[0]!;
  const { database } = exchange.app;
  const now = await databaseNow(database);
  const request = {
    name,
    from: instant(body.from, 'from', now),
    to: instant(body.to, 'to', now),
    ratePerSecond: rate(body.rate),
    confirm: body.confirm ?? false,
  };
  if (body.dryRun) {
    const plan = await planBackfill(database, request);
    sendJson(exchange.res, 200, { action: 'backfill', dryRun: true, backfill: null, ...planJson(plan) });
    return;
  }
  const { plan, backfill } = await requestBackfill(database, request, apiActor(exchange.req));
  exchange.app.hub.poke();
  // 202: recorded; the leader sends the slots at the rate.
  sendJson(exchange.res, 202, {
    action: 'backfill',
    dryRun: false,
    backfill: backfillJson(backfill),
    ...planJson(plan),
  });
}

const empty = z.object({}).strict();

export async function postCancelBackfills(exchange: Exchange): Promise<void> {
  requireToken(exchange.req, exchange.app.token);
  await readJsonBody(exchange.req, empty);
  const name = exchange.params[0]!;
  const cancelled = await cancelBackfill(exchange.app.database, name, apiActor(exchange.req));
  exchange.app.hub.poke();
  sendJson(exchange.res, 200, {
    action: 'cancel-backfill',
    name,
    changed: cancelled.length > 0,
    cancelled: cancelled.map(backfillJson),
  });
}

export async function getBackfills({ res, params, app }: Exchange): Promise<void> {
  const name = params[0]!;
  const backfills = await listBackfills(app.database, name);
  if (backfills.length === 0 && !(await findSchedule(app.database.db, name))) throw noSchedule(name);
  sendJson(res, 200, { name, backfills: backfills.map(backfillJson) });
}
