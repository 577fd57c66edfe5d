/**
 * Deadlines in every way in (issue 20): the declaration, `beat add` / `beat edit` / `beat show`,
 * the HTTP API and the client, and the table's constraints for rows written with SQL. Absent, a
 * schedule has none; a finish deadline shorter than the start deadline is refused naming the field.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BeatMetrics } from '../../src/beat/metrics.ts';
import { connect, every, type MetronomeClient } from '../../src/index.ts';
import { createLogger } from '../../src/logger.ts';
import { parseDeclaration } from '../../src/model/index.ts';
import { beat } from '../support/cli.ts';
import { call, type MountedDashboard, mountDashboard } from '../support/http.ts';
import { migratedDatabasePerFile } from '../support/migrated.ts';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const TOKEN = 'deadlines-token-0123456789abcdef';
let client: MetronomeClient;
let api: MountedDashboard;

const fixture = migratedDatabasePerFile(
  async (db, database) => {
    client = await connect({ databaseUrl: db.url, actor: 'deadline-test' });
    api = await mountDashboard(
      { database, locks: null, group: 'default', log: createLogger({ level: 'silent' }), token: TOKEN },
      new BeatMetrics(),
      () => ({ ready: true, role: 'leader' as const, reasons: [] }),
    );
  },
  async () => {
    await api?.close();
    await client?.close();
  },
);

const declare = (extra: Record<string, unknown>) =>
  parseDeclaration({ name: 'nightly', task: 't', schedule: every('1h'), ...extra }, NOW);

test('a declaration takes startDeadline and finishDeadline as durations; absent they are none', () => {
  const both = declare({ startDeadline: '5m', finishDeadline: '1h' });
  assert.ok(both.ok);
  assert.equal(both.fields.startDeadlineMs, 300_000);
  assert.equal(both.fields.finishDeadlineMs, 3_600_000);
  const none = declare({});
  assert.ok(none.ok);
  assert.equal(none.fields.startDeadlineMs, null);
  assert.equal(none.fields.finishDeadlineMs, null);
});

test('a bad deadline is refused with the field and the fix', () => {
  const short = declare({ startDeadline: '10m', finishDeadline: '5m' });
  assert.ok(!short.ok);
  assert.deepEqual(
    short.problems.map((p) => p.field),
    ['finishDeadline'],
  );
  assert.match(
    short.problems[0]!.reason,
    /shorter than start_deadline_ms \(10m\).*at least the start deadline/,
  );
  const tiny = declare({ startDeadline: 10 });
  assert.ok(!tiny.ok);
  assert.equal(tiny.problems[0]!.field, 'startDeadline');
  assert.match(tiny.problems[0]!.reason, /too short: use at least '1s'/);
  const nonsense = declare({ finishDeadline: 'soon' });
  assert.ok(!nonsense.ok);
  assert.equal(nonsense.problems[0]!.field, 'finishDeadline');
});

test('beat add, edit and show carry the deadlines; a refusal names the flag', async () => {
  const env = { DATABASE_URL: fixture.db.url };
  const added = await beat(
    [
      'add',
      'cli.report',
      '--task',
      't',
      '--every',
      '1h',
      '--start-deadline',
      '2m',
      '--finish-deadline',
      '30m',
      '--json',
    ],
    env,
  );
  assert.equal(added.code, 0, added.stderr);
  const json = JSON.parse(added.stdout);
  assert.equal(json.startDeadlineMs, 120_000);
  assert.equal(json.finishDeadlineMs, 1_800_000);
  const edited = await beat(['edit', 'cli.report', '--finish-deadline', '1m'], env);
  assert.notEqual(edited.code, 0);
  assert.match(edited.stderr, /--finish-deadline: 1m is shorter than start_deadline_ms \(2m\)/);
  const fixed = await beat(['edit', 'cli.report', '--finish-deadline', '45m'], env);
  assert.equal(fixed.code, 0, fixed.stderr);
  const shown = await beat(['show', 'cli.report'], env);
  assert.match(shown.stdout, /start deadline\s+2m/);
  assert.match(shown.stdout, /finish deadline\s+45m/);
});

test('the API and the client write and read the deadlines', async () => {
  const created = await call(api.url, 'POST', '/api/v1/schedules', {
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'api.report',
      task: 't',
      schedule: { kind: 'interval', every: '1h' },
      startDeadline: '1m',
      finishDeadline: '10m',
    }),
  });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json().schedule.startDeadline, 60_000);
  const read = await call(api.url, 'GET', '/api/v1/schedules/api.report');
  assert.equal(read.json().definition.finishDeadlineMs, 600_000);
  const refused = await call(api.url, 'PATCH', '/api/v1/schedules/api.report', {
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ startDeadline: '1h' }),
  });
  assert.equal(refused.status, 422, refused.text);
  assert.match(refused.text, /finishDeadline/);

  const info = await client.get('api.report');
  assert.ok(info);
  assert.equal(info.startDeadline, 60_000);
  assert.equal(info.finishDeadline, 600_000);
  await client.update('api.report', { finishDeadline: '2h' });
  assert.equal((await client.get('api.report'))?.finishDeadline, 7_200_000);
});

test('rows written with SQL: the constraints refuse a deadline under a second or a finish before the start', async () => {
  await assert.rejects(
    fixture.db
      .sql`insert into metronome.schedules (name, task, kind, every_ms, start_deadline_ms) values ('sql.a', 't', 'interval', 60000, 10)`,
    /start_deadline_ms_at_least_1000/,
  );
  await assert.rejects(
    fixture.db
      .sql`insert into metronome.schedules (name, task, kind, every_ms, start_deadline_ms, finish_deadline_ms)
           values ('sql.b', 't', 'interval', 60000, 60000, 1000)`,
    /finish_deadline_not_before_start_deadline/,
  );
});
