/**
 * Backfills and exclusion groups through the HTTP API and the client (issue 20), against real
 * Postgres: the dry run lists the slots and records nothing; a backfill is recorded (202) with an
 * audit record; a large range needs `confirm` (409, one line naming the count); a bad range is a
 * 400; the schedule's backfills are listed. An exclusion group is written and read back by both,
 * and `overlap: 'allow'` with a group is refused naming the field.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BeatMetrics } from '../../src/beat/metrics.ts';
import { connect, every, type MetronomeClient } from '../../src/index.ts';
import { createLogger } from '../../src/logger.ts';
import { call, type MountedDashboard, mountDashboard } from '../support/http.ts';
import { migratedDatabasePerFile } from '../support/migrated.ts';

const TOKEN = 'backfill-token-0123456789abcdef';
let api: MountedDashboard;
let client: MetronomeClient;

const fixture = migratedDatabasePerFile(
  async (db, database) => {
    const log = createLogger({ level: 'silent' });
    api = await mountDashboard(
      { database, locks: null, group: 'default', log, token: TOKEN },
      new BeatMetrics(),
      () => ({
        ready: true,
        role: 'leader',
        reasons: [],
      }),
    );
    client = await connect({ databaseUrl: db.url, actor: 'backfill-app' });
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by)
                 values ('hourly', 't', 'interval', 3600000, 'db'), ('minutely', 't', 'interval', 60000, 'db')`;
  },
  async () => {
    await client?.close();
    await api?.close();
  },
);

const post = (path: string, body: unknown) =>
  call(api.url, 'POST', path, {
    headers: {
      authorization: `Bearer ${TOKEN}`,
      'content-type': 'application/json',
      'x-metronome-actor': 'ops',
    },
    body: JSON.stringify(body),
  });

describe('backfill over the API', () => {
  test('dry run, record, confirmation bound, bad range, list', async () => {
    const range = { from: '2026-01-01T00:00:00Z', to: '2026-01-01T05:00:00Z' };
    const dry = await post('/api/v1/schedules/hourly/backfill', { ...range, dryRun: true });
    assert.equal(dry.status, 200, dry.text);
    const plan = dry.json();
    assert.equal(plan.slots.length, 6);
    assert.equal(plan.toSend, 6);
    assert.equal(plan.slots[0].scheduledFor, '2026-01-01T00:00:00.000Z');
    assert.equal(plan.backfill, null);
    const none = await fixture.db.sql`select 1 from metronome.backfills`;
    assert.equal(none.length, 0, 'a dry run records nothing');

    const made = await post('/api/v1/schedules/hourly/backfill', { ...range, rate: '2/s' });
    assert.equal(made.status, 202, made.text);
    const recorded = made.json();
    assert.equal(recorded.backfill.status, 'pending');
    assert.equal(recorded.backfill.ratePerSecond, 2);
    assert.equal(recorded.backfill.slots, 6);
    const [audit] = await fixture.db.sql<{ actor: string; via: string; action: string }[]>`
      select actor, via, action from metronome.audit_log where schedule_name = 'hourly'`;
    assert.deepEqual({ ...audit }, { actor: 'ops', via: 'api', action: 'backfill' });

    const big = await post('/api/v1/schedules/minutely/backfill', {
      from: '2026-01-01T00:00:00Z',
      to: '2026-01-02T00:00:00Z',
    });
    assert.equal(big.status, 409);
    assert.equal(big.json().error.code, 'needs_confirmation');
    assert.equal(
      big.json().error.message,
      'backfill of "minutely" holds 1441 slots (more than 1000); confirm with --yes (API: "confirm": true)',
    );
    const confirmed = await post('/api/v1/schedules/minutely/backfill', {
      from: '2026-01-01T00:00:00Z',
      to: '2026-01-02T00:00:00Z',
      confirm: true,
    });
    assert.equal(confirmed.status, 202, confirmed.text);

    const future = await post('/api/v1/schedules/hourly/backfill', {
      from: range.from,
      to: '2999-01-01T00:00:00Z',
    });
    assert.equal(future.status, 400);
    assert.match(future.json().error.message, /cannot backfill "hourly": --to .* is in the future/);
    const badRate = await post('/api/v1/schedules/hourly/backfill', { ...range, rate: 'fast' });
    assert.equal(badRate.status, 400);
    const missing = await post('/api/v1/schedules/nope/backfill', range);
    assert.equal(missing.status, 404);

    const cancelled = await post('/api/v1/schedules/hourly/backfills/cancel', {});
    assert.equal(cancelled.status, 200, cancelled.text);
    assert.equal(cancelled.json().changed, true);
    assert.equal(cancelled.json().cancelled[0].status, 'cancelled');
    const noneLeft = await post('/api/v1/schedules/hourly/backfills/cancel', {});
    assert.equal(noneLeft.json().changed, false);
    const list = await call(api.url, 'GET', '/api/v1/schedules/hourly/backfills');
    assert.equal(list.status, 200);
    assert.equal(list.json().backfills.length, 1);
    assert.equal(list.json().backfills[0].status, 'cancelled');
    assert.equal(list.json().backfills[0].requestedBy, 'ops');
  });
});

describe('the client', () => {
  test('backfill: dry run and record; backfills lists them', async () => {
    const from = new Date('2026-02-01T00:00:00Z');
    const to = new Date('2026-02-01T02:00:00Z');
    const dry = await client.backfill('hourly', { from, to, dryRun: true });
    assert.equal(dry.id, null);
    assert.deepEqual(
      dry.slots.map((s) => s.scheduledFor.toISOString()),
      ['2026-02-01T00:00:00.000Z', '2026-02-01T01:00:00.000Z', '2026-02-01T02:00:00.000Z'],
    );
    const made = await client.backfill('hourly', { from, to, ratePerSecond: 5 });
    assert.ok(made.id !== null);
    const listed = await client.backfills('hourly');
    assert.equal(listed[0]?.id, made.id);
    assert.equal(listed[0]?.requestedBy, 'backfill-app');
    const cancelled = await client.cancelBackfills('hourly');
    assert.deepEqual(
      cancelled.map((b) => b.id),
      [made.id],
    );
  });

  test('an exclusion group is written and read back; with overlap allow it is refused', async () => {
    const made = await client.create({
      name: 'vacuum',
      task: 'db.vacuum',
      schedule: every('1h'),
      exclusionGroup: 'nightly-db',
    });
    assert.equal(made.exclusionGroup, 'nightly-db');
    const read = await call(api.url, 'GET', '/api/v1/schedules/vacuum');
    assert.equal(read.json().definition.exclusionGroup, 'nightly-db');
    await assert.rejects(
      client.create({
        name: 'reindex',
        task: 'db.reindex',
        schedule: every('1h'),
        exclusionGroup: 'nightly-db',
        overlap: 'allow',
      }),
      /exclusionGroup: "nightly-db": a schedule of an exclusion group never overlaps/,
    );
    const patched = await call(api.url, 'PATCH', '/api/v1/schedules/vacuum', {
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ exclusionGroup: null }),
    });
    assert.equal(patched.status, 200, patched.text);
    assert.equal((await client.get('vacuum'))?.exclusionGroup, null);
  });
});
