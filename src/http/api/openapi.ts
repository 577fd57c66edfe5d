/**
 * The API described as OpenAPI 3.1, served at GET /api/v1/openapi.json. test/http/openapi.test.ts
 * validates it with an OpenAPI validator and checks that every route the server answers is here
 * and every operation here is answered, so the document cannot drift from the routes.
 */
import { CATCHUP_POLICIES, OVERLAP_POLICIES } from '../../model/index.ts';
import { CALENDAR_ACTIONS, DST_MISSING, DST_REPEATED } from '../../time/index.ts';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ 'application/json': { schema } });
const error = (description: string) => ({ description, content: json(ref('Error')) });
const nameParam = {
  name: 'name',
  in: 'path',
  required: true,
  description: 'The schedule name (percent-encoded).',
  schema: { type: 'string' },
};
const ifMatch = {
  name: 'If-Match',
  in: 'header',
  required: false,
  description:
    'The ETag a read gave (`"7"`): the write is refused with 409 if the schedule changed since. `*`: it must exist.',
  schema: { type: 'string' },
};
const actor = {
  name: 'X-Metronome-Actor',
  in: 'header',
  required: false,
  description: 'Who is asking, as the audit log records it (default `api`).',
  schema: { type: 'string' },
};
const preview = {
  name: 'preview',
  in: 'query',
  required: false,
  description:
    '`true`: answer 200 with what the write would do (a `WritePreview`) and write nothing; refused exactly as the write would be.',
  schema: { enum: ['true', 'false'] },
};
const etag = { ETag: { description: 'The schedule version, quoted.', schema: { type: 'string' } } };
const object = { type: 'object', additionalProperties: true };
const refusals = {
  '400': error('A malformed request (bad JSON, unknown field, bad If-Match).'),
  '401': error('No token, or the wrong one.'),
  '403': error('Read-only (no token configured), another site, or another Host.'),
};

function read(summary: string, schema: unknown = object, params: unknown[] = []) {
  return {
    get: {
      summary,
      parameters: params,
      responses: {
        '200': { description: 'OK', content: json(schema) },
        '400': error('A bad parameter.'),
        '404': error('No such schedule.'),
      },
    },
  };
}

function action(summary: string, body: unknown) {
  return {
    post: {
      summary,
      security: [{ bearer: [] }],
      parameters: [nameParam, actor],
      requestBody: { required: false, content: json(body) },
      responses: {
        '200': { description: 'Done (or already so: `changed` is false).', content: json(object) },
        ...(summary.startsWith('Run')
          ? { '202': { description: 'Recorded; no leader has sent it yet.', content: json(object) } }
          : {}),
        ...refusals,
        '404': error('No such schedule.'),
        '409': error('Refused: declared in code (enable and disable).'),
        '413': error('The body is too large.'),
        '415': error('The body is not JSON.'),
      },
    },
  };
}

const writeResponses = {
  ...refusals,
  '404': error('No such schedule.'),
  '409': error('Declared in code, already exists, or the version moved (`current`, `changes`).'),
  '413': error('The body is too large.'),
  '415': error('The body is not JSON.'),
  '422': { description: 'Invalid: every field at fault.', content: json(ref('InvalidSchedule')) },
};
const written = (status: string, description: string) => ({
  [status]: { description, headers: etag, content: json(ref('ScheduleWrite')) },
});
const previewed = {
  description: 'With `?preview=true`: what the write would do; nothing was written.',
  content: json(ref('WritePreview')),
};
/** A 200 that is the write's answer, or with `?preview=true` the preview's. */
const writtenOrPreviewed = (description: string) => ({
  '200': {
    description: `${description} With \`?preview=true\`: what the write would do; nothing was written.`,
    headers: etag,
    content: json({ oneOf: [ref('ScheduleWrite'), ref('WritePreview')] }),
  },
});

const instant = {
  type: ['string', 'number'],
  description: 'ISO 8601 with an offset, or epoch milliseconds.',
};
const duration = {
  type: ['string', 'number'],
  description: "`'30s'`, `'15m'`, `'1h30m'`, `'2d'`, or milliseconds.",
};
const nullable = (schema: object) => ({ anyOf: [schema, { type: 'null' }] });
/** A crontab's DST policy (src/time/dst.ts): either part, as an object or as text. */
const dstPart = `(repeated\\s*=\\s*(${DST_REPEATED.join('|')})|missing\\s*=\\s*(${DST_MISSING.join('|')}))`;
const dstPolicy = {
  description:
    'What a local time that occurs twice (`repeated`) or not at all (`missing`) does (docs/time.md). Either part; the other keeps the default for the hour field. Read back as text, `repeated=first,missing=shift`; null or absent is the default.',
  anyOf: [
    {
      type: 'object',
      properties: { repeated: { enum: [...DST_REPEATED] }, missing: { enum: [...DST_MISSING] } },
      additionalProperties: false,
    },
    {
      type: 'string',
      description: '`repeated=first|second|both,missing=shift|skip`, either part.',
      pattern: `^\\s*${dstPart}\\s*(,\\s*${dstPart}\\s*)?$`,
    },
    { type: 'null' },
  ],
};

/** The fields of a definition (docs/schedules.md), as the JSON body spells them. */
const definitionProperties = {
  name: {
    type: 'string',
    description: 'Required to create with POST; on PUT and PATCH it is the path’s.',
  },
  task: { type: 'string' },
  schedule: ref('Spec'),
  args: { type: 'array' },
  kwargs: { type: 'object' },
  queue: nullable({ type: 'string' }),
  routingKey: nullable({ type: 'string' }),
  priority: nullable({ type: 'integer', minimum: 0, maximum: 9 }),
  expires: nullable(duration),
  timeLimit: nullable(duration),
  softTimeLimit: nullable(duration),
  headers: { type: 'object' },
  enabled: { type: 'boolean' },
  startAt: nullable(instant),
  endAt: nullable(instant),
  maxRuns: nullable({ type: 'integer', minimum: 1 }),
  overlap: { enum: [...OVERLAP_POLICIES] },
  catchup: { enum: [...CATCHUP_POLICIES] },
  catchupWindow: duration,
  jitter: duration,
  runLease: nullable(duration),
  startDeadline: nullable(duration),
  finishDeadline: nullable(duration),
  exclusionGroup: nullable({
    type: 'string',
    pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$',
    description: 'Schedules naming the same group never run at the same time (they share one run lock).',
  }),
  description: nullable({ type: 'string' }),
  calendars: {
    type: 'array',
    items: { type: 'string' },
    description: 'Business calendars, by name, whose excluded days it does not fire on.',
  },
  onExcluded: {
    enum: [...CALENDAR_ACTIONS],
    description: 'A fire on an excluded day: skipped, or moved to the previous or next allowed day.',
  },
};

const calendarPreview = {
  name: 'preview',
  in: 'query',
  required: false,
  description:
    '`true`: answer 200 with a CalendarPreview and write nothing; refused exactly as the edit would be.',
  schema: { enum: ['true', 'false'] },
};
const calendarName = {
  name: 'name',
  in: 'path',
  required: true,
  description: 'The calendar name (percent-encoded).',
  schema: { type: 'string' },
};
const civilDay = {
  type: 'string',
  pattern: '^\\d{4}-\\d{2}-\\d{2}$',
  description: 'A civil date, YYYY-MM-DD.',
};
const calendarSummaryProperties = {
  name: { type: 'string' },
  managedBy: { enum: ['code', 'db'] },
  source: nullable({ type: 'string' }),
  description: nullable({ type: 'string' }),
  weekdays: { type: 'array', items: { type: 'string' } },
  dayEntries: { type: 'integer' },
  upcoming: {
    type: 'array',
    items: {
      type: 'object',
      required: ['day', 'label'],
      properties: { day: civilDay, label: nullable({ type: 'string' }) },
    },
  },
  problem: nullable({ type: 'string' }),
  version: { type: 'integer' },
  updatedAt: { type: 'string' },
};
const dayRange = {
  type: 'object',
  required: ['from', 'to'],
  properties: { from: civilDay, to: civilDay, label: { type: 'string' } },
  additionalProperties: false,
};

const schemas = {
  Error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['status', 'code', 'message'],
        properties: { status: { type: 'integer' }, code: { type: 'string' }, message: { type: 'string' } },
        additionalProperties: true,
      },
    },
  },
  InvalidSchedule: {
    allOf: [
      ref('Error'),
      {
        type: 'object',
        properties: {
          error: {
            type: 'object',
            required: ['fields'],
            properties: {
              fields: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['field', 'reason'],
                  properties: { field: { type: 'string' }, reason: { type: 'string' } },
                },
              },
            },
          },
        },
      },
    ],
  },
  Spec: {
    description: 'When it fires: what crontab(), every(), solar() and at() build.',
    oneOf: [
      {
        type: 'object',
        required: ['kind', 'cron', 'timezone'],
        properties: {
          kind: { const: 'crontab' },
          cron: {
            type: ['string', 'object'],
            description:
              "'30 2 * * *', or Celery's object form { minute, hour, dayOfWeek, dayOfMonth, monthOfYear }.",
          },
          timezone: { type: 'string', description: 'IANA zone.' },
          dst: dstPolicy,
        },
      },
      {
        type: 'object',
        required: ['kind', 'every'],
        properties: { kind: { const: 'interval' }, every: duration, anchor: nullable(instant) },
      },
      {
        type: 'object',
        required: ['kind', 'event', 'latitude', 'longitude'],
        properties: {
          kind: { const: 'solar' },
          event: { type: 'string' },
          latitude: { type: 'number' },
          longitude: { type: 'number' },
        },
      },
      {
        type: 'object',
        required: ['kind', 'runAt'],
        properties: { kind: { const: 'clocked' }, runAt: instant },
      },
    ],
  },
  CalendarSummary: {
    description: 'A business calendar: who owns it, what it excludes, its next excluded days.',
    type: 'object',
    required: Object.keys(calendarSummaryProperties),
    properties: calendarSummaryProperties,
  },
  Calendar: {
    description: 'A business calendar in full: its days, and the schedules that name it.',
    type: 'object',
    required: [...Object.keys(calendarSummaryProperties), 'days', 'schedules'],
    properties: {
      ...calendarSummaryProperties,
      days: { type: 'array', items: dayRange },
      schedules: { type: 'array', items: { type: 'string' } },
    },
  },
  CalendarPreview: {
    description:
      'What an edit of a calendar would do: for each schedule that names it, its fires before and after (a SchedulePreview each).',
    type: 'object',
    required: ['calendar', 'schedules'],
    properties: { calendar: { type: 'string' }, schedules: { type: 'array', items: object } },
  },
  CalendarDefinition: {
    description: 'What a calendar excludes (the whole of it: what is left out is emptied).',
    type: 'object',
    properties: {
      weekdays: {
        type: 'array',
        maxItems: 7,
        items: { oneOf: [{ type: 'integer', minimum: 0, maximum: 7 }, { type: 'string' }] },
      },
      days: { type: 'array', items: { oneOf: [civilDay, dayRange] } },
      description: nullable({ type: 'string' }),
    },
    additionalProperties: false,
  },
  Definition: {
    description:
      'A schedule as a declaration states it (docs/schedules.md); only task and schedule are required.',
    type: 'object',
    required: ['task', 'schedule'],
    properties: definitionProperties,
    additionalProperties: false,
  },
  Patch: {
    description: 'Any of the fields of a Definition: only those given change.',
    type: 'object',
    properties: definitionProperties,
    additionalProperties: false,
  },
  Schedule: {
    description: 'A schedule: its definition (durations in ms, instants ISO 8601) and its state.',
    type: 'object',
    required: ['name', 'task', 'schedule', 'version', 'managedBy', 'state'],
    properties: {
      name: { type: 'string' },
      task: { type: 'string' },
      schedule: object,
      version: { type: 'integer' },
      managedBy: { enum: ['code', 'db'] },
      source: nullable({ type: 'string' }),
      state: { enum: ['enabled', 'paused', 'disabled', 'invalid', 'done'] },
      nextFireAt: nullable({ type: 'string' }),
      pausedAt: nullable({ type: 'string' }),
      pausedReason: nullable({ type: 'string' }),
      pausedUntil: nullable({ type: 'object', description: 'When it resumes by itself (utc, local).' }),
      skip: nullable({
        type: 'object',
        description: 'A pending skip: how many of the next occurrences, and why.',
        properties: { count: { type: 'integer' }, reason: nullable({ type: 'string' }) },
      }),
      stateText: { type: 'string', description: 'The state in words: `paused until … (reason)`.' },
    },
    additionalProperties: true,
  },
  ScheduleWrite: {
    type: 'object',
    required: ['action', 'changed', 'schedule'],
    properties: {
      action: { enum: ['created', 'updated', 'unchanged'] },
      changed: { type: 'array', items: { type: 'string' } },
      schedule: ref('Schedule'),
    },
  },
  PreviewFire: {
    type: 'object',
    required: ['utc', 'local', 'dst'],
    properties: {
      utc: { type: 'string' },
      local: { type: 'string', description: "In the schedule's zone: `2026-03-29 03:30:00 +02:00`." },
      dst: { type: 'string', description: "How a DST change moved it, in words; '' when it did not." },
    },
  },
  WritePreview: {
    description: 'What a write would do (`?preview=true`), as `beat add --preview --json` prints it.',
    type: 'object',
    required: ['action', 'changed', 'version', 'preview'],
    properties: {
      action: { enum: ['created', 'updated', 'unchanged', 'deleted'] },
      changed: { type: 'array', items: { type: 'string' } },
      version: nullable({ type: 'integer' }),
      preview: {
        type: 'object',
        required: ['name', 'zone', 'before', 'after', 'firesChange', 'dstChanges', 'atOnce'],
        properties: {
          name: { type: 'string' },
          zone: { type: 'string' },
          before: nullable({ type: 'array', items: ref('PreviewFire') }),
          after: nullable({ type: 'array', items: ref('PreviewFire') }),
          firesChange: { type: 'boolean' },
          dstChanges: { type: 'array', items: { type: 'string' } },
          atOnce: {
            type: 'object',
            required: ['run', 'missed', 'why'],
            properties: {
              run: { type: 'array', items: ref('PreviewFire') },
              missed: { type: 'integer' },
              why: { type: 'string' },
            },
          },
        },
      },
    },
  },
  BulkResult: {
    type: 'object',
    required: ['created', 'updated', 'unchanged', 'notWritten', 'errors', 'batches'],
    properties: {
      created: { type: 'integer' },
      updated: { type: 'integer' },
      unchanged: { type: 'integer' },
      notWritten: { type: 'integer' },
      errors: {
        type: 'array',
        items: {
          type: 'object',
          required: ['index', 'code', 'reason'],
          properties: {
            index: { type: 'integer' },
            name: nullable({ type: 'string' }),
            code: { enum: ['invalid', 'managed_by_code', 'conflict', 'duplicate'] },
            field: nullable({ type: 'string' }),
            reason: { type: 'string' },
          },
        },
      },
      batches: {
        type: 'array',
        items: {
          type: 'object',
          required: ['first', 'count', 'written'],
          properties: {
            first: { type: 'integer' },
            count: { type: 'integer' },
            written: { type: 'boolean' },
          },
        },
      },
    },
  },
};

const query = (name: string, type: string, description: string) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema: { type },
});

export function openApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Metronome API',
      version,
      description:
        'Schedules, their runs and the beat (docs/api.md). Reads are open; changes need `Authorization: Bearer <METRONOME_API_TOKEN>`.',
    },
    servers: [{ url: '/api/v1' }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas },
    paths: {
      '/': read('This index: the version, whether changes are allowed, the endpoints.'),
      '/openapi.json': read('This document.'),
      '/schedules': {
        ...read('Schedules, filtered and paged.', object, [
          query('q', 'string', 'Name contains.'),
          query('state', 'string', 'enabled, paused, disabled, invalid or done.'),
          query('kind', 'string', 'crontab, interval, solar or clocked.'),
          query('managedBy', 'string', 'code or db.'),
          query('task', 'string', 'Task name.'),
          query('queue', 'string', 'Queue.'),
          query('limit', 'integer', '1 to 1000, default 200.'),
          query('offset', 'integer', 'Default 0.'),
        ]),
        post: {
          summary: 'Create a database-owned schedule.',
          security: [{ bearer: [] }],
          parameters: [actor, preview],
          requestBody: { required: true, content: json(ref('Definition')) },
          responses: { '200': previewed, ...written('201', 'Created.'), ...writeResponses },
        },
      },
      '/schedules/{name}': {
        get: {
          summary: 'One schedule in detail: fields, state, next fires, latest runs.',
          parameters: [nameParam],
          responses: {
            '200': { description: 'OK', headers: etag, content: json(object) },
            '404': error('No such schedule.'),
          },
        },
        put: {
          summary: 'Replace its definition (If-Match for the version), or create it when absent.',
          security: [{ bearer: [] }],
          parameters: [nameParam, ifMatch, actor, preview],
          requestBody: { required: true, content: json(ref('Definition')) },
          responses: {
            ...writtenOrPreviewed('Replaced (or unchanged).'),
            ...written('201', 'Created.'),
            ...writeResponses,
          },
        },
        patch: {
          summary: 'Change only the fields given.',
          security: [{ bearer: [] }],
          parameters: [nameParam, ifMatch, actor, preview],
          requestBody: {
            required: true,
            content: json(ref('Patch')),
          },
          responses: { ...writtenOrPreviewed('Changed (or unchanged).'), ...writeResponses },
        },
        delete: {
          summary: 'Delete a database-owned schedule (its history stays).',
          security: [{ bearer: [] }],
          parameters: [nameParam, ifMatch, actor, preview],
          responses: { '200': previewed, '204': { description: 'Deleted.' }, ...writeResponses },
        },
      },
      '/schedules/{name}/occurrences': read('Its occurrences, newest first.', object, [
        nameParam,
        query('limit', 'integer', '1 to 1000, default 50.'),
        query('before', 'string', 'Only those scheduled before this instant.'),
        query('status', 'string', 'Comma-separated statuses.'),
      ]),
      '/schedules/{name}/timeline': read('Its fires and runs over the last hours.', object, [
        nameParam,
        query('hours', 'integer', '1 to 168, default 24.'),
      ]),
      '/schedules/{name}/deadlines': read(
        'How it kept its deadlines over the last 7 days: on-time share, outcomes, breaches with reasons, alerts, lateness (docs/alerts.md).',
        object,
        [nameParam],
      ),
      '/schedules/{name}/pause': action(
        'Pause it (any schedule); with `until`, the leader resumes it by itself then.',
        {
          type: 'object',
          properties: {
            reason: nullable({ type: 'string' }),
            until: nullable({
              type: 'string',
              description:
                'ISO 8601 date-time with Z or an offset, or a duration from now (`90m`, `2h`, `1d12h`); null: until resumed.',
            }),
          },
          additionalProperties: false,
        },
      ),
      '/schedules/{name}/resume': action('Resume it.', { type: 'object', additionalProperties: false }),
      '/schedules/{name}/skip': {
        ...action(
          'Skip its next `count` occurrences (default 1): each is recorded `skipped` with the reason, never sent. Replaces a skip still pending.',
          {
            type: 'object',
            required: ['reason'],
            properties: {
              count: { type: 'integer', minimum: 1, maximum: 10000 },
              reason: { type: 'string', maxLength: 500 },
            },
            additionalProperties: false,
          },
        ),
        delete: {
          summary: 'End a pending skip (`changed` is false when there was none).',
          security: [{ bearer: [] }],
          parameters: [nameParam, actor],
          responses: {
            '200': { description: 'Done (or none pending).', content: json(object) },
            ...refusals,
            '404': error('No such schedule.'),
          },
        },
      },
      '/schedules/{name}/trigger': action('Run it now.', {
        type: 'object',
        properties: { force: { type: 'boolean' }, wait: { type: 'number', minimum: 0, maximum: 10 } },
        additionalProperties: false,
      }),
      '/schedules/{name}/backfill': {
        post: {
          summary:
            'Fire its slots of a past range: a dry run lists them; otherwise the backfill is recorded and the leader sends the slots at the rate, each at most once.',
          security: [{ bearer: [] }],
          parameters: [nameParam, actor],
          requestBody: {
            required: true,
            content: json({
              type: 'object',
              required: ['from', 'to'],
              properties: {
                from: { type: 'string', description: 'ISO 8601 with an offset; inclusive.' },
                to: { type: 'string', description: "ISO 8601 with an offset, or 'now'; inclusive." },
                rate: {
                  anyOf: [{ type: 'string' }, { type: 'number', exclusiveMinimum: 0, maximum: 100 }],
                  description: "Slots a second: '5/s', '30/m' or a number. Default 1/s.",
                },
                dryRun: { type: 'boolean', description: 'List the slots; record nothing.' },
                confirm: { type: 'boolean', description: 'Needed for a range of more than 1000 slots.' },
              },
              additionalProperties: false,
            }),
          },
          responses: {
            '200': {
              description: 'The dry run: the slots, what the ledger holds at each.',
              content: json(object),
            },
            '202': {
              description: 'Recorded; the leader sends the slots at the rate.',
              content: json(object),
            },
            ...refusals,
            '404': error('No such schedule.'),
            '409': error('More than 1000 slots without `confirm`, or the schedule is invalid.'),
            '413': error('The body is too large.'),
            '415': error('The body is not JSON.'),
          },
        },
      },
      '/schedules/{name}/backfills': read('Its backfills, newest first, with how far each got.', object, [
        nameParam,
      ]),
      '/schedules/{name}/backfills/cancel': action(
        'Cancel its open backfills: no further slot is claimed; runs already sent go on.',
        { type: 'object', additionalProperties: false },
      ),
      '/schedules/{name}/enable': action('Enable it (database-owned only).', {
        type: 'object',
        additionalProperties: false,
      }),
      '/schedules/{name}/disable': action('Disable it (database-owned only).', {
        type: 'object',
        additionalProperties: false,
      }),
      '/calendars': read('The business calendars.', {
        type: 'object',
        required: ['calendars'],
        properties: { calendars: { type: 'array', items: ref('CalendarSummary') } },
      }),
      '/calendars/{name}': {
        get: {
          summary: 'One business calendar: its weekdays, days and the schedules that name it.',
          parameters: [calendarName],
          responses: {
            '200': { description: 'OK', headers: etag, content: json(ref('Calendar')) },
            '404': error('No such calendar.'),
          },
        },
        put: {
          summary:
            'Replace a calendar kept in the database (created when absent); the schedules that name it are re-planned at once.',
          security: [{ bearer: [] }],
          parameters: [calendarName, actor, calendarPreview],
          requestBody: { required: true, content: json(ref('CalendarDefinition')) },
          responses: {
            '200': {
              description: 'Replaced; with `?preview=true`, a CalendarPreview (nothing written).',
              headers: etag,
              content: json({ oneOf: [ref('Calendar'), ref('CalendarPreview')] }),
            },
            '201': { description: 'Created.', headers: etag, content: json(ref('Calendar')) },
            ...refusals,
            '409': error('Declared in code (edit it there and run beat sync).'),
            '413': error('The body is too large.'),
            '415': error('The body is not JSON.'),
            '422': error('A day or weekday that is not one.'),
          },
        },
        delete: {
          summary:
            'Delete a calendar kept in the database; refused while schedules name it, unless force=true.',
          security: [{ bearer: [] }],
          parameters: [
            calendarName,
            actor,
            query(
              'force',
              'boolean',
              'Delete even though schedules name it (they are quarantined until it exists again).',
            ),
            calendarPreview,
          ],
          responses: {
            '200': {
              description: 'With `?preview=true`: what the delete would do; nothing was written.',
              content: json(ref('CalendarPreview')),
            },
            '204': { description: 'Deleted.' },
            ...refusals,
            '404': error('No such calendar.'),
            '409': error('Declared in code, or schedules name it.'),
          },
        },
      },
      '/bulk/schedules': {
        post: {
          summary: 'Create or replace many database-owned schedules, in all-or-nothing batches.',
          security: [{ bearer: [] }],
          parameters: [actor],
          requestBody: {
            required: true,
            content: json({
              type: 'object',
              required: ['schedules'],
              properties: {
                schedules: {
                  type: 'array',
                  maxItems: 200000,
                  items: {
                    type: 'object',
                    required: ['name', 'task', 'schedule'],
                    description:
                      'A Definition with its name; `version` (integer) makes the item conditional.',
                    properties: { name: { type: 'string' }, version: { type: 'integer' } },
                    additionalProperties: true,
                  },
                },
                batchSize: { type: 'integer', minimum: 1, maximum: 1500 },
              },
              additionalProperties: false,
            }),
          },
          responses: {
            '200': {
              description: 'What was written; refused items by index and name.',
              content: json(ref('BulkResult')),
            },
            ...writeResponses,
          },
        },
      },
      '/now': read('The beat now: leader, replicas, recent activity.'),
      '/next-24h': read('Fires forecast for the next 24 hours.'),
      '/actions': read('The audit log, newest first.', object, [
        query('limit', 'integer', '1 to 1000, default 50.'),
        query('schedule', 'string', 'Of one schedule.'),
      ]),
      '/events': {
        get: {
          summary: 'Server-sent events: a message whenever what the pages show changes.',
          responses: {
            '200': {
              description: 'An event stream.',
              content: { 'text/event-stream': { schema: { type: 'string' } } },
            },
            '503': error('Too many listeners.'),
          },
        },
      },
    },
  };
}
