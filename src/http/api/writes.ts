/**
 * The API's schedule writes: create (POST /schedules), replace or create (PUT /schedules/NAME),
 * patch (PATCH), delete (DELETE) and bulk upsert (POST /bulk/schedules) of database-owned
 * schedules — the operations of src/operate/edit.ts and bulk.ts, which the client and
 * `beat add|remove` use too. Behind the token and the cross-site checks (guard.ts); each change is
 * recorded in the audit log with the caller (X-Metronome-Actor).
 *
 * The version travels as the ETag (`"7"`); `If-Match: "7"` makes a write conditional, and a
 * version that has moved is a 409 naming what moved it. An invalid definition is a 422 listing
 * every field at fault. Bodies are read with exact numbers (args 12345678901234567890 stays so).
 * `?preview=true` on create, replace, patch and delete answers what the write would do and makes
 * none of it (docs/api.md, "Previews").
 */

import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { scheduleInfo } from '../../client/schedule.ts';
import { calendarsOf } from '../../db/sql/calendars.ts';
import { databaseNow } from '../../db/store.ts';
import type { ScheduleDeclarationInput, ScheduleRecord } from '../../model/index.ts';
import { previewWrite } from '../../observe/write-preview.ts';
import { BackfillError } from '../../operate/backfill.ts';
import { type BulkItem, upsertMany } from '../../operate/bulk.ts';
import {
  createSchedule,
  type EditResult,
  patchSchedule,
  removeSchedule,
  replaceSchedule,
  upsertSchedule,
} from '../../operate/edit.ts';
import {
  type Decide,
  decideCreate,
  decidePatch,
  decideRemove,
  decideReplace,
  decideUpsert,
} from '../../operate/edit-plan.ts';
import { InvalidScheduleError, OperationError, VersionConflictError } from '../../operate/errors.ts';
import type { Exchange, Handler } from '../context.ts';
import { MAX_BULK_BODY_BYTES, readJsonBody } from './body.ts';
import { apiActor, requireToken } from './guard.ts';
import { previewParam } from './params.ts';
import { ApiError, send, sendJson } from './respond.ts';

const definition = z.record(z.string(), z.unknown());
const bulkBody = z
  .object({
    schedules: z.array(z.unknown()).max(200_000),
    batchSize: z.int().min(1).max(1500).optional(),
  })
  .strict();

function guarded(handler: Handler): Handler {
  return async (exchange) => {
    requireToken(exchange.req, exchange.app.token);
    await handler(exchange);
    exchange.app.hub.poke();
  };
}

/** The ETag of a version: strong, the version in quotes. */
const etagOf = (version: number) => `"${version}"`;

/** `If-Match`: a version, `*` (it must exist), or absent. */
function ifMatch(exchange: Exchange): number | '*' | undefined {
  const raw = exchange.req.headers['if-match'];
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text === '*') return '*';
  const match = /^(?:W\/)?"(\d{1,16})"$/.exec(text);
  if (!match) {
    throw new ApiError(
      400,
      'bad_if_match',
      `If-Match ${JSON.stringify(text)} is not a version: send the ETag a read gave, e.g. If-Match: "3"`,
    );
  }
  return Number(match[1]);
}

const versionOf = (match: number | '*' | undefined) => (typeof match === 'number' ? match : undefined);

async function sendSchedule(
  exchange: Exchange,
  status: number,
  record: ScheduleRecord,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const now = await databaseNow(exchange.app.database);
  const path = `/api/v1/schedules/${encodeURIComponent(record.name)}`;
  sendJson(
    exchange.res,
    status,
    { ...extra, schedule: scheduleInfo(record, now, await calendarsOf(exchange.app.database.db, [record])) },
    { etag: etagOf(record.version), ...(status === 201 ? { location: path } : {}) },
  );
}

const sendEdit = (exchange: Exchange, result: EditResult) =>
  sendSchedule(exchange, result.action === 'created' ? 201 : 200, result.record, {
    action: result.action,
    changed: result.changed,
  });

async function readDefinition(exchange: Exchange): Promise<Record<string, unknown>> {
  return readJsonBody(exchange.req, definition, { exact: true });
}

/**
 * `?preview=true`: 200 with what the write would do (src/observe/write-preview.ts), decided and
 * refused exactly as the write, which is not made: no row, no audit record, no version change.
 */
async function sendPreview(exchange: Exchange, decide: Decide): Promise<void> {
  const result = await previewWrite(exchange.app.database, decide);
  sendJson(exchange.res, 200, result, result.version === null ? {} : { etag: etagOf(result.version) });
}

/** POST /api/v1/schedules: create; a name that exists is a 409. */
export const postSchedule = guarded(async (exchange) => {
  const preview = previewParam(exchange.url);
  const body = await readDefinition(exchange);
  if (preview) return sendPreview(exchange, decideCreate(body as unknown as ScheduleDeclarationInput));
  const record = await createSchedule(
    exchange.app.database,
    body as unknown as ScheduleDeclarationInput,
    apiActor(exchange.req),
    'api',
  );
  await sendSchedule(exchange, 201, record, { action: 'created', changed: [] });
});

/** PUT /api/v1/schedules/NAME: replace (If-Match: that version, or `*`), or create when absent. */
export const putSchedule = guarded(async (exchange) => {
  const name = exchange.params[0]!;
  const preview = previewParam(exchange.url);
  const body = await readDefinition(exchange);
  const match = ifMatch(exchange);
  const input = { ...body, name: body.name ?? name } as unknown as ScheduleDeclarationInput;
  const upsert = match === undefined && input.name === name;
  if (preview) {
    return sendPreview(
      exchange,
      upsert ? decideUpsert(input) : decideReplace(name, input, { ifVersion: versionOf(match) }),
    );
  }
  const { database } = exchange.app;
  const actor = apiActor(exchange.req);
  const result = upsert
    ? await upsertSchedule(database, input, actor, { source: 'api' })
    : await replaceSchedule(database, name, input, actor, { ifVersion: versionOf(match) });
  await sendEdit(exchange, result);
});

/** PATCH /api/v1/schedules/NAME: change only the fields given. */
export const patchScheduleRoute = guarded(async (exchange) => {
  const name = exchange.params[0]!;
  const preview = previewParam(exchange.url);
  const body = await readDefinition(exchange);
  const options = { ifVersion: versionOf(ifMatch(exchange)) };
  if (preview) return sendPreview(exchange, decidePatch(name, body, options));
  const result = await patchSchedule(exchange.app.database, name, body, apiActor(exchange.req), options);
  await sendEdit(exchange, result);
});

/** DELETE /api/v1/schedules/NAME: 204; its history stays. */
export const deleteSchedule = guarded(async (exchange) => {
  const name = exchange.params[0]!;
  const preview = previewParam(exchange.url);
  await readJsonBody(exchange.req, z.object({}).strict());
  const options = { ifVersion: versionOf(ifMatch(exchange)) };
  if (preview) return sendPreview(exchange, decideRemove(name, options));
  await removeSchedule(exchange.app.database, name, apiActor(exchange.req), options);
  noContent(exchange.res);
});

function noContent(res: ServerResponse): void {
  send(res, 204, 'text/plain; charset=utf-8', '');
}

/** POST /api/v1/bulk/schedules: upsert many, in all-or-nothing batches; 200 with what happened. */
export const postBulk = guarded(async (exchange) => {
  const body = await readJsonBody(exchange.req, bulkBody, { maxBytes: MAX_BULK_BODY_BYTES, exact: true });
  const result = await upsertMany(
    exchange.app.database,
    body.schedules as BulkItem[],
    apiActor(exchange.req),
    { source: 'api', ...(body.batchSize ? { batchSize: body.batchSize } : {}) },
  );
  sendJson(exchange.res, 200, {
    ...result,
    errors: result.errors.map((e) => ({ ...e, field: e.field === null ? null : jsonField(e.field) })),
  });
});

/** A declaration field as the JSON body spells it: `crontab(..., { tz })` is `schedule.timezone`. */
function jsonField(field: string): string {
  return field === 'schedule.tz' ? 'schedule.timezone' : field;
}

/**
 * An operation's refusal as the API answers it: 404 unknown, 409 declared in code / exists /
 * version moved (with the current version and the recorded changes), 422 invalid (every field).
 * Null for anything else.
 */
export function operationRefusal(error: unknown): ApiError | null {
  if (!(error instanceof OperationError)) return null;
  if (error instanceof BackfillError) {
    // A bad range is the request's fault; a missing confirmation or an invalid schedule a conflict.
    return new ApiError(error.reason === 'bad_range' ? 400 : 409, error.reason, error.message);
  }
  if (error instanceof InvalidScheduleError) {
    return new ApiError(
      422,
      'invalid_schedule',
      error.message,
      {},
      {
        fields: error.problems.map((p) => ({ field: jsonField(p.field), reason: p.reason })),
      },
    );
  }
  if (error instanceof VersionConflictError) {
    return new ApiError(
      409,
      'version_conflict',
      error.message,
      { etag: etagOf(error.current) },
      {
        expected: error.expected,
        current: error.current,
        changes: error.changes,
      },
    );
  }
  if (error.code === 'not_found') return new ApiError(404, 'not_found', error.message);
  if (error.code === 'bad_reason' || error.code === 'bad_value')
    return new ApiError(400, error.code, error.message);
  return new ApiError(409, error.code, error.message);
}
