/**
 * The OpenAPI 3.1 document served at /api/v1/openapi.json: valid by an OpenAPI validator
 * (@readme/openapi-parser), naming exactly the routes the server answers (no more, no fewer), and
 * every operation's answer — one real request each, against real Postgres — has a documented
 * status and a body its documented schema accepts (Ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileErrors, dereference, validate } from '@readme/openapi-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { BeatMetrics } from '../../src/beat/metrics.ts';
import { ROUTES } from '../../src/http/app.ts';
import { createLogger } from '../../src/logger.ts';
import { call, type MountedDashboard, mountDashboard } from '../support/http.ts';
import { migratedDatabasePerFile } from '../support/migrated.ts';

const TOKEN = 'openapi-token-0123456789abcdef';
let api: MountedDashboard;
// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document, read by shape
let doc: any;

migratedDatabasePerFile(
  async (db, database) => {
    const log = createLogger({ level: 'silent' });
    api = await mountDashboard(
      { database, locks: null, group: 'default', log, token: TOKEN },
      new BeatMetrics(),
      () => ({ ready: true, role: 'leader', reasons: [] }),
    );
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by)
                 values ('doc.one', 't', 'interval', 60000, 'db'), ('doc.two', 't', 'interval', 60000, 'db')`;
    const reply = await call(api.url, 'GET', '/api/v1/openapi.json');
    assert.equal(reply.status, 200);
    doc = reply.json();
  },
  async () => api?.close(),
);

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** `^/api/v1/schedules/([^/]+)/pause$` → `/schedules/{name}/pause` (relative to the server URL). */
function template(path: RegExp): string {
  const source = path.source
    .replace(/^\^/, '')
    .replace(/\$$/, '')
    .replace(/\\\//g, '/')
    .replace(/\/\?$/, '/')
    .replace('([^/]+)', '{name}')
    .replace(/\\\./g, '.');
  const relative = source.replace(/^\/api\/v1/, '');
  return relative === '' ? '/' : relative;
}

test('the document is valid OpenAPI 3.1', async () => {
  assert.equal(doc.openapi, '3.1.0');
  const result = await validate(structuredClone(doc));
  assert.ok(result.valid, compileErrors(result));
});

test('every route the server answers is documented, and every documented operation is routed', () => {
  const routed = new Set<string>();
  for (const route of ROUTES.filter((r) => r.kind === 'api')) {
    for (const method of METHODS) if (route[method]) routed.add(`${method} ${template(route.path)}`);
  }
  const documented = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
    for (const method of Object.keys(item)) documented.add(`${method.toUpperCase()} ${path}`);
  }
  assert.deepEqual([...routed].sort(), [...documented].sort());
  assert.ok(routed.size >= 20, `${routed.size} routes`);
});

test("the crontab spec documents every field a crontab takes, its DST policy's choices included", () => {
  const crontab = doc.components.schemas.Spec.oneOf.find(
    (variant: { properties: { kind: { const: string } } }) => variant.properties.kind.const === 'crontab',
  );
  assert.deepEqual(Object.keys(crontab.properties).sort(), ['cron', 'dst', 'kind', 'timezone']);
  const ajv = new Ajv2020({ strict: false });
  const check = ajv.compile(crontab.properties.dst);
  for (const good of [null, 'repeated=second,missing=skip', { repeated: 'both' }, { missing: 'skip' }]) {
    assert.ok(check(good), `dst ${JSON.stringify(good)} is documented as accepted`);
  }
  for (const bad of [{ repeated: 'third' }, { when: 'never' }, 7]) {
    assert.ok(!check(bad), `dst ${JSON.stringify(bad)} is documented as refused`);
  }
});

test('each operation answers with a documented status and a body its schema accepts', async () => {
  const resolved = await dereference(structuredClone(doc));
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  const definition = { task: 't', schedule: { kind: 'interval', every: '5m' } };
  const requests: Array<[string, string, string, unknown?, Record<string, string>?]> = [
    ['GET', '/', '/api/v1'],
    ['GET', '/openapi.json', '/api/v1/openapi.json'],
    ['GET', '/schedules', '/api/v1/schedules?limit=5'],
    ['POST', '/schedules', '/api/v1/schedules', { name: 'doc.made', ...definition }],
    [
      'POST',
      '/schedules',
      '/api/v1/schedules',
      {
        name: 'doc.dst',
        task: 't',
        schedule: {
          kind: 'crontab',
          cron: '30 2 * * *',
          timezone: 'Europe/Berlin',
          dst: { repeated: 'both' },
        },
      },
    ],
    [
      'POST',
      '/schedules',
      '/api/v1/schedules',
      { name: 'doc.bad', task: 't', schedule: { kind: 'interval', every: '0s' } },
    ],
    ['GET', '/schedules/{name}', '/api/v1/schedules/doc.made'],
    ['PUT', '/schedules/{name}', '/api/v1/schedules/doc.made', definition, { 'if-match': '"1"' }],
    ['PUT', '/schedules/{name}', '/api/v1/schedules/doc.new', definition],
    ['PATCH', '/schedules/{name}', '/api/v1/schedules/doc.made', { queue: 'q' }, { 'if-match': '"1"' }],
    ['PATCH', '/schedules/{name}', '/api/v1/schedules/doc.made', { queue: 'r' }],
    ['POST', '/schedules', '/api/v1/schedules?preview=true', { name: 'doc.preview', ...definition }],
    ['PUT', '/schedules/{name}', '/api/v1/schedules/doc.new?preview=true', definition],
    ['PATCH', '/schedules/{name}', '/api/v1/schedules/doc.made?preview=true', { jitter: '5s' }],
    ['DELETE', '/schedules/{name}', '/api/v1/schedules/doc.new?preview=true'],
    ['DELETE', '/schedules/{name}', '/api/v1/schedules/doc.new'],
    ['DELETE', '/schedules/{name}', '/api/v1/schedules/nope'],
    ['GET', '/schedules/{name}/occurrences', '/api/v1/schedules/doc.made/occurrences'],
    ['GET', '/schedules/{name}/timeline', '/api/v1/schedules/doc.made/timeline'],
    ['GET', '/schedules/{name}/deadlines', '/api/v1/schedules/doc.made/deadlines'],
    ['POST', '/schedules/{name}/pause', '/api/v1/schedules/doc.one/pause', { reason: 'docs' }],
    ['POST', '/schedules/{name}/resume', '/api/v1/schedules/doc.one/resume', {}],
    ['POST', '/schedules/{name}/pause', '/api/v1/schedules/doc.one/pause', { reason: 'docs', until: '2h' }],
    ['POST', '/schedules/{name}/pause', '/api/v1/schedules/doc.one/pause', { until: '2001-01-01T00:00:00Z' }],
    ['POST', '/schedules/{name}/skip', '/api/v1/schedules/doc.two/skip', { count: 2, reason: 'docs' }],
    ['POST', '/schedules/{name}/skip', '/api/v1/schedules/doc.two/skip', { reason: '' }],
    ['DELETE', '/schedules/{name}/skip', '/api/v1/schedules/doc.two/skip'],
    ['POST', '/schedules/{name}/disable', '/api/v1/schedules/doc.two/disable', {}],
    ['POST', '/schedules/{name}/enable', '/api/v1/schedules/doc.two/enable', {}],
    ['POST', '/schedules/{name}/trigger', '/api/v1/schedules/doc.two/trigger', { wait: 0 }],
    [
      'POST',
      '/schedules/{name}/backfill',
      '/api/v1/schedules/doc.two/backfill',
      { from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:10:00Z', dryRun: true },
    ],
    [
      'POST',
      '/schedules/{name}/backfill',
      '/api/v1/schedules/doc.two/backfill',
      { from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:10:00Z', rate: '5/s' },
    ],
    [
      'POST',
      '/schedules/{name}/backfill',
      '/api/v1/schedules/doc.two/backfill',
      { from: '2026-01-01T00:00:00Z', to: '2026-01-10T00:00:00Z' },
    ],
    ['GET', '/schedules/{name}/backfills', '/api/v1/schedules/doc.two/backfills'],
    ['POST', '/schedules/{name}/backfills/cancel', '/api/v1/schedules/doc.two/backfills/cancel', {}],
    [
      'POST',
      '/bulk/schedules',
      '/api/v1/bulk/schedules',
      { schedules: [{ name: 'doc.bulk', ...definition }] },
    ],
    [
      'PUT',
      '/calendars/{name}',
      '/api/v1/calendars/doc.cal',
      {
        weekdays: ['sat', 0],
        days: ['2030-01-01', { from: '2030-02-01', to: '2030-02-03', label: 'Closed' }],
      },
    ],
    ['PUT', '/calendars/{name}', '/api/v1/calendars/doc.cal', { weekdays: ['sun'], description: 'weekends' }],
    ['PUT', '/calendars/{name}', '/api/v1/calendars/doc.bad', { days: ['2030-02-30'] }],
    ['GET', '/calendars', '/api/v1/calendars'],
    ['GET', '/calendars/{name}', '/api/v1/calendars/doc.cal'],
    ['GET', '/calendars/{name}', '/api/v1/calendars/nope'],
    [
      'POST',
      '/schedules',
      '/api/v1/schedules',
      { name: 'doc.cal.user', ...definition, calendars: ['doc.cal'], onExcluded: 'next' },
    ],
    ['PUT', '/calendars/{name}', '/api/v1/calendars/doc.cal?preview=true', { weekdays: ['sat', 'sun'] }],
    ['DELETE', '/calendars/{name}', '/api/v1/calendars/doc.cal?preview=true&force=true'],
    ['DELETE', '/calendars/{name}', '/api/v1/calendars/doc.cal'],
    ['DELETE', '/calendars/{name}', '/api/v1/calendars/doc.cal?force=true'],
    ['GET', '/now', '/api/v1/now'],
    ['GET', '/next-24h', '/api/v1/next-24h'],
    ['GET', '/actions', '/api/v1/actions'],
  ];
  const answered = new Set<string>();
  for (const [method, path, url, body, extra] of requests) {
    const operation = resolved.paths[path][method.toLowerCase()];
    const requestSchema = operation.requestBody?.content?.['application/json']?.schema;
    if (body !== undefined && requestSchema) {
      const check = ajv.compile(requestSchema);
      assert.ok(
        check(body),
        `${method} ${url}: the body sent is not what the document describes: ${ajv.errorsText(check.errors)}`,
      );
    }
    const reply = await call(api.url, method, url, {
      headers: { ...auth, ...extra },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const documented = operation.responses[String(reply.status)];
    assert.ok(
      documented,
      `${method} ${url} answered ${reply.status}, which ${method} ${path} does not document: ${reply.text}`,
    );
    answered.add(`${method} ${path}`);
    const schema = documented.content?.['application/json']?.schema;
    if (schema) {
      const check = ajv.compile(schema);
      assert.ok(check(reply.json()), `${method} ${url} (${reply.status}): ${ajv.errorsText(check.errors)}`);
    }
  }
  const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(
    ([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`),
  );
  // The event stream never ends, so it is checked by its route, not by a request here.
  assert.deepEqual(
    operations.filter((o) => !answered.has(o)),
    ['GET /events'],
  );
});
