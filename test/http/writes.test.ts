/**
 * The API's schedule writes on a real server and real Postgres: create, replace, patch, delete and
 * bulk upsert of database-owned schedules, behind the token; the version as ETag and If-Match; 409
 * on a moved version, on a name that exists and on a schedule declared in code; 422 with every
 * field at fault; each change recorded with the caller's actor.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BeatMetrics } from '../../src/beat/metrics.ts';
import { findSchedule } from '../../src/db/sql/schedules-read.ts';
import { createLogger } from '../../src/logger.ts';
import { NO_CALENDARS } from '../../src/model/validate.ts';
import { previewBeforeOf, previewEdit } from '../../src/observe/preview.ts';
import { checkDeclaration, declarationOf } from '../../src/operate/declaration.ts';
import { call, type MountedDashboard, mountDashboard } from '../support/http.ts';
import { migratedDatabasePerFile } from '../support/migrated.ts';

const TOKEN = 'writes-token-0123456789abcdef';
const log = createLogger({ level: 'silent' });
let api: MountedDashboard;
let readOnly: MountedDashboard;

const headers = (extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${TOKEN}`,
  'content-type': 'application/json',
  'x-metronome-actor': 'billing-service',
  ...extra,
});
const send = (method: string, path: string, body?: unknown, extra: Record<string, string> = {}) =>
  call(api.url, method, path, {
    headers: headers(extra),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

const fixture = migratedDatabasePerFile(
  async (db, database) => {
    const options = { database, locks: null, group: 'default', log };
    const readiness = () => ({ ready: true, role: 'leader' as const, reasons: [] });
    api = await mountDashboard({ ...options, token: TOKEN }, new BeatMetrics(), readiness);
    readOnly = await mountDashboard({ ...options, token: undefined }, new BeatMetrics(), readiness);
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by, source)
                 values ('code.owned', 't', 'interval', 60000, 'code', 'schedules/owned.ts')`;
  },
  async () => {
    await api?.close();
    await readOnly?.close();
  },
);

describe('one schedule', () => {
  test('POST creates (201, ETag, Location); GET carries the same ETag', async () => {
    // Sent as text: a JavaScript number could not hold the argument.
    const created = await call(api.url, 'POST', '/api/v1/schedules', {
      headers: headers(),
      body: `{"name": "customer 7/invoice", "task": "billing.invoice", "args": [12345678901234567890],
              "schedule": {"kind": "crontab", "cron": "0 6 1 * *", "timezone": "Europe/Berlin"}, "kwargs": {"customer": 7}}`,
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers.etag, '"1"');
    assert.equal(created.headers.location, '/api/v1/schedules/customer%207%2Finvoice');
    const body = created.json();
    assert.equal(body.action, 'created');
    assert.equal(body.schedule.version, 1);
    assert.equal(body.schedule.source, 'api');
    const [row] = await fixture.db.sql<{ args: string }[]>`
      select args::text as args from metronome.schedules where name = 'customer 7/invoice'`;
    assert.equal(row?.args, '[12345678901234567890]', 'numbers are stored exactly as sent');
    const read = await call(api.url, 'GET', '/api/v1/schedules/customer%207%2Finvoice');
    assert.equal(read.status, 200);
    assert.equal(read.headers.etag, '"1"');
    const again = await send('POST', '/api/v1/schedules', {
      name: 'customer 7/invoice',
      task: 't',
      schedule: { kind: 'interval', every: '1m' },
    });
    assert.equal(again.status, 409);
    assert.equal(again.json().error.code, 'exists');
  });

  test('422 names every field at fault, as the JSON body spells it; nothing is written', async () => {
    const bad = await send('POST', '/api/v1/schedules', {
      name: 'bad.one',
      task: 't',
      schedule: { kind: 'crontab', cron: '0 4 * * *', timezone: 'Nowhere/City' },
      priority: 12,
      colour: 'red',
    });
    assert.equal(bad.status, 422, bad.text);
    const fields = bad
      .json()
      .error.fields.map((f: { field: string }) => f.field)
      .sort();
    assert.deepEqual(fields, ['colour', 'priority', 'schedule.timezone']);
    assert.equal((await call(api.url, 'GET', '/api/v1/schedules/bad.one')).status, 404);
  });

  test("schedule.dst: stored as the crontab's DST policy and read back; a bad one is a 422 naming it", async () => {
    const created = await send('POST', '/api/v1/schedules', {
      name: 'dst.policy',
      task: 't',
      schedule: {
        kind: 'crontab',
        cron: '30 2 * * *',
        timezone: 'Europe/Berlin',
        dst: { repeated: 'second' },
      },
    });
    assert.equal(created.status, 201, created.text);
    const [row] = await fixture.db.sql<{ dst_policy: string | null }[]>`
      select dst_policy from metronome.schedules where name = 'dst.policy'`;
    assert.equal(row?.dst_policy, 'repeated=second,missing=shift', 'the part not given takes the default');
    const read = await call(api.url, 'GET', '/api/v1/schedules/dst.policy');
    assert.equal(read.status, 200, read.text);
    assert.equal(read.json().definition.dstPolicy, 'repeated=second,missing=shift');
    assert.equal(created.json().schedule.schedule.dst, 'repeated=second,missing=shift');
    const patched = await send('PATCH', '/api/v1/schedules/dst.policy', {
      schedule: {
        kind: 'crontab',
        cron: '30 2 * * *',
        timezone: 'Europe/Berlin',
        dst: 'repeated=both,missing=skip',
      },
    });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.json().schedule.schedule.dst, 'repeated=both,missing=skip');
    assert.deepEqual(patched.json().changed, ['schedule'], 'the DST policy is part of the schedule spec');
    for (const dst of ['sometimes', { repeated: 'third' }]) {
      const bad = await send('POST', '/api/v1/schedules', {
        name: 'dst.bad',
        task: 't',
        schedule: { kind: 'crontab', cron: '30 2 * * *', timezone: 'Europe/Berlin', dst },
      });
      assert.equal(bad.status, 422, bad.text);
      const [field] = bad.json().error.fields.map((f: { field: string }) => f.field);
      assert.match(
        field,
        /^schedule\.dst(\.repeated)?$/,
        `the 422 names schedule.dst for ${JSON.stringify(dst)}`,
      );
    }
    assert.equal((await call(api.url, 'GET', '/api/v1/schedules/dst.bad')).status, 404);
  });

  test('PUT replaces with If-Match; a moved version is a 409 naming what moved it', async () => {
    const path = '/api/v1/schedules/customer%207%2Finvoice';
    const patched = await send('PATCH', path, { queue: 'urgent' }, { 'if-match': '"1"' });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.headers.etag, '"2"');
    assert.deepEqual(patched.json().changed, ['queue']);
    const stale = await send(
      'PUT',
      path,
      { task: 'billing.invoice', schedule: { kind: 'interval', every: '1h' } },
      { 'if-match': '"1"' },
    );
    assert.equal(stale.status, 409, stale.text);
    const error = stale.json().error;
    assert.equal(error.code, 'version_conflict');
    assert.equal(error.current, 2);
    assert.match(error.message, /changed since version 1 \(now 2\): update queue by billing-service \(api\)/);
    assert.equal(stale.headers.etag, '"2"');
    const replaced = await send(
      'PUT',
      path,
      { task: 'billing.invoice', schedule: { kind: 'interval', every: '1h' } },
      { 'if-match': '"2"' },
    );
    assert.equal(replaced.status, 200, replaced.text);
    assert.equal(replaced.json().schedule.queue, null);
    const badMatch = await send('PATCH', path, { queue: 'x' }, { 'if-match': 'yesterday' });
    assert.equal(badMatch.status, 400);
    // PUT without If-Match creates a schedule that does not exist yet.
    const made = await send('PUT', '/api/v1/schedules/put.made', {
      task: 't',
      schedule: { kind: 'interval', every: '5m' },
    });
    assert.equal(made.status, 201, made.text);
  });

  test('DELETE with If-Match: 204; code-owned refused with 409; unknown 404', async () => {
    const stale = await send('DELETE', '/api/v1/schedules/put.made', undefined, { 'if-match': '"9"' });
    assert.equal(stale.status, 409);
    const gone = await send('DELETE', '/api/v1/schedules/put.made', undefined, { 'if-match': '"1"' });
    assert.equal(gone.status, 204, gone.text);
    assert.equal(gone.text, '');
    const code = await send('DELETE', '/api/v1/schedules/code.owned');
    assert.equal(code.status, 409);
    assert.match(code.json().error.message, /schedules\/owned\.ts/);
    const patchCode = await send('PATCH', '/api/v1/schedules/code.owned', { queue: 'x' });
    assert.equal(patchCode.status, 409);
    assert.equal((await send('DELETE', '/api/v1/schedules/nope')).status, 404);
    const actions = await fixture.db.sql<{ actor: string; action: string }[]>`
      select actor, action from metronome.audit_log where schedule_name = 'put.made' order by id`;
    assert.deepEqual(
      actions.map((a) => `${a.actor}:${a.action}`),
      ['billing-service:create', 'billing-service:remove'],
    );
  });

  test('writes need the token: 403 read-only, 401 without or with a wrong one', async () => {
    const body = JSON.stringify({ name: 'x', task: 't', schedule: { kind: 'interval', every: '1m' } });
    const ro = await call(readOnly.url, 'POST', '/api/v1/schedules', {
      headers: { 'content-type': 'application/json' },
      body,
    });
    assert.equal(ro.status, 403);
    const none = await call(api.url, 'PUT', '/api/v1/schedules/x', {
      headers: { 'content-type': 'application/json' },
      body,
    });
    assert.equal(none.status, 401);
    const wrong = await call(api.url, 'DELETE', '/api/v1/schedules/x', {
      headers: { authorization: 'Bearer not-the-token-at-all' },
    });
    assert.equal(wrong.status, 401);
    const method = await call(api.url, 'DELETE', '/api/v1/now');
    assert.equal(method.status, 405);
  });
});

describe('bulk', () => {
  test('POST /api/v1/bulk/schedules: batches all or nothing, refused items by index and name', async () => {
    const schedules = Array.from({ length: 30 }, (_, i) => ({
      name: `bulk.${i}`,
      task: 'billing.invoice',
      schedule: { kind: 'crontab', cron: `${i} 6 * * *`, timezone: 'UTC' },
    }));
    schedules[12] = {
      ...schedules[12]!,
      schedule: { kind: 'crontab', cron: '0 6 * * *', timezone: 'Mars/Base' },
    };
    const reply = await send('POST', '/api/v1/bulk/schedules', { schedules, batchSize: 10 });
    assert.equal(reply.status, 200, reply.text);
    const result = reply.json();
    assert.deepEqual(
      result.batches.map((b: { written: boolean }) => b.written),
      [true, false, true],
    );
    assert.deepEqual(result.errors, [
      {
        index: 12,
        name: 'bulk.12',
        code: 'invalid',
        field: 'schedule.timezone',
        reason: result.errors[0].reason,
      },
    ]);
    assert.equal(result.created, 20);
    const [{ n } = { n: -1 }] = await fixture.db.sql<{ n: number }[]>`
      select count(*)::int as n from metronome.audit_log where schedule_name like 'bulk.%' and actor = 'billing-service'`;
    assert.equal(n, 20);
  });
});

describe('previews: ?preview=true answers what the write would do and writes nothing', () => {
  // Starts in the future, so the fires do not depend on today; 02:30 Berlin does not exist on 2031-03-30.
  const nightly = {
    task: 'reports.nightly',
    schedule: { kind: 'crontab', cron: '30 2 * * *', timezone: 'Europe/Berlin' },
    startAt: '2031-03-28T00:00:00Z',
  };

  /** The row's version and updated_at, and the audit records of the name: what a write would move. */
  async function footprint(name: string) {
    const rows = await fixture.db.sql<{ version: number; updated: string }[]>`
      select version, updated_at::text as updated from metronome.schedules where name = ${name}`;
    const [{ n } = { n: -1 }] = await fixture.db.sql<{ n: number }[]>`
      select count(*)::int as n from metronome.audit_log where schedule_name = ${name}`;
    return { rows: [...rows], audit: n };
  }

  /** previewEdit's own answer, for comparing; dstChanges looks ahead from now, so it is left out. */
  const comparable = (preview: Record<string, unknown>) => ({ ...preview, dstChanges: undefined });

  test('POST: the next fires it would have, as previewEdit says; no row, no audit record', async () => {
    const reply = await send('POST', '/api/v1/schedules?preview=true', { name: 'pv.new', ...nightly });
    assert.equal(reply.status, 200, reply.text);
    const body = reply.json();
    assert.equal(body.action, 'created');
    const expected = previewEdit({
      calendars: NO_CALENDARS,
      name: 'pv.new',
      before: null,
      after: checkDeclaration({ name: 'pv.new', ...nightly }, Date.now()).fields,
      now: Date.now(),
    });
    assert.deepEqual(comparable(body.preview), comparable(JSON.parse(JSON.stringify(expected))));
    assert.equal(body.preview.after[2].utc, '2031-03-30T01:30:00.000Z');
    assert.match(body.preview.after[2].dst, /shifted/);
    assert.deepEqual(await footprint('pv.new'), { rows: [], audit: 0 }, 'a preview wrote');
  });

  test('PATCH, PUT and DELETE: before and after as previewEdit says; version, row and audit log untouched', async () => {
    const made = await send('POST', '/api/v1/schedules', { name: 'pv.edit', ...nightly });
    assert.equal(made.status, 201, made.text);
    const untouched = await footprint('pv.edit');
    const row = (await findSchedule(fixture.database.db, 'pv.edit'))!;
    const dst = { ...nightly.schedule, dst: { missing: 'skip' } };
    const patched = await send(
      'PATCH',
      '/api/v1/schedules/pv.edit?preview=true',
      { schedule: dst },
      { 'if-match': '"1"' },
    );
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.json().action, 'updated');
    assert.deepEqual(patched.json().changed, ['schedule']);
    const after = checkDeclaration({ ...declarationOf(row), schedule: dst }, Date.now()).fields;
    const expected = previewEdit({
      calendars: NO_CALENDARS,
      name: 'pv.edit',
      before: previewBeforeOf(row),
      after,
      now: Date.now(),
    });
    assert.deepEqual(comparable(patched.json().preview), comparable(JSON.parse(JSON.stringify(expected))));
    assert.equal(patched.json().preview.firesChange, true);
    assert.ok(
      !patched.json().preview.after.some((f: { utc: string }) => f.utc === '2031-03-30T01:30:00.000Z'),
      'missing=skip drops the fire in the gap',
    );
    const replaced = await send('PUT', '/api/v1/schedules/pv.edit?preview=true', {
      ...nightly,
      schedule: { kind: 'interval', every: '1h' },
    });
    assert.equal(replaced.status, 200, replaced.text);
    assert.equal(replaced.json().preview.zone, 'UTC');
    assert.equal(replaced.json().preview.after[0].utc, '2031-03-28T00:00:00.000Z');
    const same = await send('PATCH', '/api/v1/schedules/pv.edit?preview=true', { queue: null });
    assert.equal(same.json().action, 'unchanged');
    assert.equal(same.json().preview.firesChange, false);
    const deleted = await send('DELETE', '/api/v1/schedules/pv.edit?preview=true', undefined, {
      'if-match': '"1"',
    });
    assert.equal(deleted.status, 200, deleted.text);
    assert.equal(deleted.json().action, 'deleted');
    assert.equal(deleted.json().preview.after, null);
    assert.equal(deleted.json().preview.before.length, 5);
    assert.deepEqual(
      await footprint('pv.edit'),
      untouched,
      'a preview moved the version, the row or the audit log',
    );
    const read = await call(api.url, 'GET', '/api/v1/schedules/pv.edit');
    assert.equal(read.headers.etag, '"1"');
  });

  test('the refusals of a real write: 422 every field, 409 code-owned or moved, 404, 401 without the token', async () => {
    const bad = await send('POST', '/api/v1/schedules?preview=true', {
      name: 'pv.bad',
      task: 't',
      schedule: { kind: 'crontab', cron: '30 2 * * *', timezone: 'Europe/Berlin', dst: 'sometimes' },
      priority: 12,
    });
    assert.equal(bad.status, 422, bad.text);
    assert.deepEqual(
      bad
        .json()
        .error.fields.map((f: { field: string }) => f.field)
        .sort(),
      ['priority', 'schedule.dst'],
    );
    await send('POST', '/api/v1/schedules', { name: 'pv.kept', ...nightly });
    const exists = await send('POST', '/api/v1/schedules?preview=true', { name: 'pv.kept', ...nightly });
    assert.equal(exists.status, 409);
    assert.equal(exists.json().error.code, 'exists');
    const badPatch = await send('PATCH', '/api/v1/schedules/pv.kept?preview=true', { jitter: 'soon' });
    assert.equal(badPatch.status, 422, badPatch.text);
    const code = await send('PATCH', '/api/v1/schedules/code.owned?preview=true', { queue: 'x' });
    assert.equal(code.status, 409);
    assert.equal(code.json().error.code, 'managed_by_code');
    const codeDelete = await send('DELETE', '/api/v1/schedules/code.owned?preview=true');
    assert.equal(codeDelete.status, 409);
    const moved = await send('PUT', '/api/v1/schedules/pv.kept?preview=true', nightly, { 'if-match': '"7"' });
    assert.equal(moved.status, 409);
    assert.equal(moved.json().error.code, 'version_conflict');
    assert.equal((await send('DELETE', '/api/v1/schedules/nope?preview=true')).status, 404);
    const none = await call(api.url, 'POST', '/api/v1/schedules?preview=true', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'pv.anon', ...nightly }),
    });
    assert.equal(none.status, 401);
    const ro = await call(readOnly.url, 'PATCH', '/api/v1/schedules/pv.kept?preview=true', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ queue: 'x' }),
    });
    assert.equal(ro.status, 403);
    const odd = await send('POST', '/api/v1/schedules?preview=maybe', { name: 'pv.odd', ...nightly });
    assert.equal(odd.status, 400);
    assert.equal(odd.json().error.code, 'bad_parameter');
    assert.deepEqual(await footprint('pv.bad'), { rows: [], audit: 0 });
    assert.equal((await footprint('pv.kept')).audit, 1, 'only the real create was recorded');
  });
});
