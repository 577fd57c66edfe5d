/**
 * The client in the package (`connect()` from 'metronome') against real Postgres: every method,
 * validation exactly as `beat add`'s, the audit log with the caller's actor, refusal of schedules
 * declared in code, optimistic concurrency by version, bulk upsert by batches, and a borrowed
 * postgres.js or Drizzle connection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import {
  at,
  connect,
  crontab,
  every,
  InvalidScheduleError,
  type MetronomeClient,
  OperationError,
  solar,
  VersionConflictError,
} from '../../src/index.ts';
import { beat } from '../support/cli.ts';
import { createMigratedDatabase } from '../support/migrated.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

let pg: TestDatabase;
let client: MetronomeClient;

before(async () => {
  pg = await createMigratedDatabase();
  client = await connect({ databaseUrl: pg.url, actor: 'billing-app' });
  await pg.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by, source)
               values ('code.owned', 't', 'interval', 60000, 'code', 'schedules/owned.ts')`;
});
after(async () => {
  await client?.close();
  await pg?.drop();
});

async function audit(name: string) {
  return pg.sql<{ actor: string; via: string; action: string; detail: string }[]>`
    select actor, via, action, detail::text as detail from metronome.audit_log
    where schedule_name = ${name} order by id`;
}

async function rejects<E extends Error>(
  promise: Promise<unknown>,
  type: new (...a: never[]) => E,
): Promise<E> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    return error as E;
  }
  assert.fail(`expected ${type.name}, but it succeeded`);
}

describe('one schedule at a time', () => {
  test('create with the declaration helpers; get carries the version and the definition', async () => {
    const created = await client.create({
      name: 'invoice.42',
      task: 'billing.invoice',
      schedule: crontab('0 6 1 * *', { tz: 'Europe/Berlin' }),
      kwargs: { customer: 42 },
      queue: 'billing',
    });
    assert.equal(created.version, 1);
    assert.equal(created.managedBy, 'db');
    assert.equal(created.source, 'client');
    assert.equal(created.state, 'enabled');
    assert.ok(created.nextFireAt instanceof Date);
    assert.deepEqual(created.schedule, { kind: 'crontab', cron: '0 6 1 * *', timezone: 'Europe/Berlin' });
    const got = await client.get('invoice.42');
    assert.deepEqual(got?.kwargs, { customer: 42 });
    assert.equal(got?.version, 1);
    assert.equal(await client.get('nope'), null);
    const [entry] = await audit('invoice.42');
    assert.equal(entry?.actor, 'billing-app');
    assert.equal(entry?.via, 'client');
    assert.equal(entry?.action, 'create');
    assert.equal(JSON.parse(entry!.detail).version, 1);
  });

  test('every kind of spec, and validation exactly as beat add (every problem, by field)', async () => {
    await client.create({ name: 'k.every', task: 't', schedule: every('15m') });
    await client.create({ name: 'k.solar', task: 't', schedule: solar('sunset', 52.52, 13.405) });
    await client.create({ name: 'k.at', task: 't', schedule: at('2031-05-01T12:00:00Z') });
    const error = await rejects(
      client.create({
        name: 'bad.one',
        task: 't',
        schedule: crontab('0 4 * * *', { tz: 'Nowhere/City' }),
        priority: 12,
      }),
      InvalidScheduleError,
    );
    assert.deepEqual(error.problems.map((p) => p.field).sort(), ['priority', 'schedule.tz']);
    assert.equal(error.code, 'invalid');
    const never = await rejects(
      client.create({ name: 'bad.past', task: 't', schedule: at('2020-01-01T00:00:00Z') }),
      InvalidScheduleError,
    );
    assert.match(never.message, /schedule\.runAt: .*past/);
    const dup = await rejects(
      client.create({ name: 'k.every', task: 't', schedule: every('1m') }),
      OperationError,
    );
    assert.equal(dup.code, 'exists');
    const [{ n } = { n: -1 }] = await pg.sql<
      { n: number }[]
    >`select count(*)::int as n from metronome.schedules where name like 'bad.%'`;
    assert.equal(n, 0);
  });

  test("a crontab's DST policy is stored and read back; a bad one names the schedule and schedule.dst", async () => {
    const created = await client.create({
      name: 'dst.policy',
      task: 't',
      schedule: crontab('30 2 * * *', { tz: 'Europe/Berlin', dst: { missing: 'skip' } }),
    });
    assert.deepEqual(created.schedule, {
      kind: 'crontab',
      cron: '30 2 * * *',
      timezone: 'Europe/Berlin',
      dst: 'repeated=first,missing=skip',
    });
    const [row] = await pg.sql<{ dst_policy: string | null }[]>`
      select dst_policy from metronome.schedules where name = 'dst.policy'`;
    assert.equal(row?.dst_policy, 'repeated=first,missing=skip');
    assert.equal((await client.get('dst.policy'))?.schedule.kind, 'crontab');
    assert.deepEqual((await client.get('dst.policy'))?.schedule, created.schedule);
    const error = await rejects(
      client.create({
        name: 'dst.bad',
        task: 't',
        schedule: crontab('30 2 * * *', { tz: 'Europe/Berlin', dst: { repeated: 'third' as never } }),
      }),
      InvalidScheduleError,
    );
    assert.deepEqual(
      error.problems.map((p) => p.field),
      ['schedule.dst.repeated'],
    );
    assert.match(
      error.message,
      /schedule "dst\.bad" is invalid: schedule\.dst\.repeated: .*first, second, both/,
    );
    const text = await rejects(
      client.create({
        name: 'dst.bad',
        task: 't',
        schedule: { kind: 'crontab', cron: '30 2 * * *', timezone: 'UTC', dst: 'sometimes' },
      }),
      InvalidScheduleError,
    );
    assert.deepEqual(
      text.problems.map((p) => p.field),
      ['schedule.dst'],
    );
    assert.equal(await client.get('dst.bad'), null);
  });

  test('update and replace: a moved version is a conflict naming what changed, never an overwrite', async () => {
    const read = await client.get('invoice.42');
    const other = await connect({ databaseUrl: pg.url, actor: 'ops-console' });
    try {
      const first = await other.update(
        'invoice.42',
        { queue: 'urgent', kwargs: { customer: 42, copy: true } },
        {
          version: read!.version,
        },
      );
      assert.equal(first.action, 'updated');
      assert.deepEqual(first.changed.sort(), ['kwargs', 'queue']);
      assert.equal(first.schedule.version, read!.version + 1);
      await other.pause('invoice.42', { reason: 'customer on hold' });
    } finally {
      await other.close();
    }
    const conflict = await rejects(
      client.update('invoice.42', { priority: 5 }, { version: read!.version }),
      VersionConflictError,
    );
    assert.equal(conflict.expected, read!.version);
    assert.equal(conflict.current, read!.version + 2);
    assert.deepEqual(
      conflict.changes.map((c) => c.action),
      ['update', 'pause'],
    );
    assert.match(
      conflict.message,
      /changed since version 1 \(now 3\): update kwargs, queue by ops-console \(client\).*pause by ops-console/,
    );
    const stored = await client.get('invoice.42');
    assert.equal(stored?.priority, null, 'the conflicting write changed nothing');
    // With the current version it goes through; the same definition again changes nothing.
    const ok = await client.update('invoice.42', { priority: 5 }, { version: stored!.version });
    assert.equal(ok.schedule.priority, 5);
    const same = await client.update('invoice.42', { priority: 5 });
    assert.equal(same.action, 'unchanged');
    assert.equal(same.schedule.version, ok.schedule.version);
    // Replace: what is not given returns to its default.
    const replaced = await client.replace('invoice.42', {
      name: 'invoice.42',
      task: 'billing.invoice',
      schedule: every('1h'),
    });
    assert.equal(replaced.schedule.queue, null);
    assert.deepEqual(replaced.schedule.schedule, { kind: 'interval', every: 3_600_000, anchor: null });
    assert.ok(replaced.changed.includes('schedule'));
    const renamed = await rejects(
      client.replace('invoice.42', { name: 'invoice.43', task: 't', schedule: every('1h') }),
      InvalidScheduleError,
    );
    assert.equal(renamed.problems[0]?.field, 'name');
  });

  test('upsert creates, then updates; a read handed back unchanged is unchanged', async () => {
    const made = await client.upsert({ name: 'u.one', task: 't', schedule: every('5m') });
    assert.equal(made.action, 'created');
    const {
      version,
      managedBy,
      source,
      state,
      pausedAt,
      pausedReason,
      pausedUntil,
      skip,
      invalidReason,
      nextFireAt,
      lastFireAt,
      totalRuns,
      createdAt,
      updatedAt,
      ...definition
    } = made.schedule;
    const again = await client.upsert(definition, { version });
    assert.equal(again.action, 'unchanged');
    const changed = await client.upsert({ ...definition, description: 'five minutes' }, { version });
    assert.equal(changed.action, 'updated');
    assert.deepEqual(changed.changed, ['description']);
    await rejects(client.upsert({ ...definition, description: 'x' }, { version }), VersionConflictError);
  });

  test('schedules declared in code are refused, with where to change them; nothing is written', async () => {
    for (const attempt of [
      () => client.update('code.owned', { queue: 'x' }),
      () => client.replace('code.owned', { name: 'code.owned', task: 't', schedule: every('1m') }),
      () => client.upsert({ name: 'code.owned', task: 't', schedule: every('1m') }),
      () => client.remove('code.owned'),
      () => client.disable('code.owned'),
    ]) {
      const error = await rejects(attempt(), OperationError);
      assert.equal(error.code, 'managed_by_code');
      assert.match(error.message, /schedules\/owned\.ts/);
    }
    const [row] = await pg.sql<{ version: string; queue: string | null }[]>`
      select version::text, queue from metronome.schedules where name = 'code.owned'`;
    assert.deepEqual(row, { version: '1', queue: null });
  });

  test('pause, resume, enable, disable, trigger, next fires, history, list and remove', async () => {
    assert.equal((await client.pause('k.every', { reason: 'maintenance' })).state, 'paused');
    assert.equal((await client.resume('k.every')).state, 'enabled');
    const until = new Date(Date.now() + 3_600_000);
    const pausedUntil = await client.pause('k.every', { reason: 'until later', until });
    assert.equal(pausedUntil.pausedUntil?.getTime(), until.getTime());
    assert.equal((await client.resume('k.every')).pausedUntil, null);
    const skipping = await client.skip('k.every', { count: 2, reason: 'holiday' });
    assert.deepEqual(skipping.skip, { count: 2, reason: 'holiday' });
    const [first] = await client.nextFires('k.every', { count: 1 });
    const unskipped = await client.clearSkip('k.every');
    assert.equal(unskipped.skip, null);
    const [firstWithoutSkip] = await client.nextFires('k.every', { count: 1 });
    assert.equal(
      (first?.getTime() ?? 0) - (firstWithoutSkip?.getTime() ?? 0),
      2 * 15 * 60_000,
      'the next fires leave out the two skipped',
    );
    assert.equal((await client.disable('k.every')).state, 'disabled');
    assert.equal((await client.enable('k.every')).state, 'enabled');
    const fires = await client.nextFires('k.every', { count: 3, after: new Date('2026-01-01T00:00:00Z') });
    assert.deepEqual(
      fires.map((d) => d.toISOString()),
      ['2026-01-01T00:15:00.000Z', '2026-01-01T00:30:00.000Z', '2026-01-01T00:45:00.000Z'],
    );
    const triggered = await client.trigger('k.every');
    assert.ok(triggered.taskId.length > 10);
    const history = await client.history('k.every');
    assert.equal(history[0]?.taskId, triggered.taskId);
    assert.equal(history[0]?.manual, true);
    const listed = await client.list({ prefix: 'k.', managedBy: 'db' });
    assert.deepEqual(
      listed.map((s) => s.name),
      ['k.at', 'k.every', 'k.solar'],
    );
    const stale = (await client.get('k.solar'))!.version;
    await client.update('k.solar', { description: 'dusk' });
    await rejects(client.remove('k.solar', { version: stale }), VersionConflictError);
    await client.remove('k.solar');
    assert.equal(await client.get('k.solar'), null);
    const notFound = await rejects(client.pause('k.solar'), OperationError);
    assert.equal(notFound.code, 'not_found');
    const actions = (await audit('k.every')).map((a) => `${a.via}:${a.action}`);
    assert.deepEqual(actions, [
      'client:create',
      'client:pause',
      'client:resume',
      'client:pause',
      'client:resume',
      'client:skip',
      'client:skip',
      'client:disable',
      'client:enable',
      'client:trigger',
    ]);
    assert.deepEqual(
      (await audit('k.solar')).map((a) => a.action),
      ['create', 'update', 'remove'],
    );
  });
});

describe('bulk', () => {
  test('batches are all or nothing; refused items are named by index and name', async () => {
    const items = Array.from({ length: 2500 }, (_, i) => ({
      name: `bulk.${i}`,
      task: 'billing.invoice',
      schedule: crontab(`${i % 60} 6 * * *`, { tz: 'UTC' }),
      kwargs: { customer: i },
    }));
    const bad = [...items] as Array<Record<string, unknown>>;
    bad[1500] = { ...items[1500], schedule: crontab('61 * * * *', { tz: 'UTC' }) };
    bad[1700] = { name: 'code.owned', task: 't', schedule: every('1m') };
    bad[1800] = { ...items[3] };
    const result = await client.upsertMany(bad as never, { batchSize: 1000 });
    assert.deepEqual(
      result.batches.map((b) => [b.first, b.count, b.written]),
      [
        [0, 1000, true],
        [1000, 1000, false],
        [2000, 500, true],
      ],
    );
    assert.deepEqual(
      result.errors.map((e) => [e.index, e.name, e.code, e.field]),
      [
        [1500, 'bulk.1500', 'invalid', 'schedule.cron'],
        [1800, 'bulk.3', 'duplicate', 'name'],
      ],
    );
    assert.equal(result.created, 1500);
    assert.equal(result.notWritten, 998);
    // The code-owned name is found in the database once the rest of its batch is valid.
    const retry = await client.upsertMany(
      items.map((item, i) => (i === 1700 ? { name: 'code.owned', task: 't', schedule: every('1m') } : item)),
      { batchSize: 1000 },
    );
    assert.deepEqual(
      retry.errors.map((e) => [e.index, e.name, e.code]),
      [[1700, 'code.owned', 'managed_by_code']],
    );
    assert.deepEqual(
      retry.batches.map((b) => b.written),
      [true, false, true],
    );
    const fixed = await client.upsertMany(items, { batchSize: 1000 });
    assert.deepEqual(fixed.errors, []);
    assert.equal(fixed.created, 1000);
    assert.equal(fixed.unchanged, 1500);
    const [{ n, audited } = { n: -1, audited: -1 }] = await pg.sql<{ n: number; audited: number }[]>`
      select (select count(*)::int from metronome.schedules where name like 'bulk.%') as n,
             (select count(*)::int from metronome.audit_log where schedule_name like 'bulk.%' and actor = 'billing-app') as audited`;
    assert.equal(n, 2500);
    assert.equal(audited, 2500);
    const one = await client.get('bulk.1500');
    assert.deepEqual(one?.kwargs, { customer: 1500 });
    assert.ok(one?.nextFireAt);
    // Versions in bulk: a moved one is a per-item conflict.
    const changed = await client.upsertMany([
      { ...items[0]!, description: 'first', version: 1 },
      { ...items[1]!, description: 'second', version: 7 },
    ]);
    assert.deepEqual(
      changed.errors.map((e) => [e.index, e.code]),
      [[1, 'conflict']],
    );
  });
});

describe('connections', () => {
  test("the application's own postgres.js client or Drizzle database, borrowed and left open", async () => {
    const sql = postgres(pg.url, { max: 2, onnotice: () => {} });
    try {
      const viaSql = await connect({ sql, actor: 'borrowed-sql' });
      const made = await viaSql.create({ name: 'b.sql', task: 't', schedule: every('1m'), kwargs: { a: 1 } });
      assert.deepEqual(made.kwargs, { a: 1 });
      await viaSql.close();
      const viaDrizzle = await connect({ drizzle: drizzle(sql), actor: 'borrowed-drizzle' });
      const updated = await viaDrizzle.update('b.sql', { queue: 'q' }, { version: made.version });
      assert.equal(updated.schedule.queue, 'q');
      await viaDrizzle.close();
      // Still open: closing the client did not close the application's connection.
      assert.deepEqual([...(await sql`select 1 as one`)], [{ one: 1 }]);
      assert.deepEqual(
        (await audit('b.sql')).map((a) => a.actor),
        ['borrowed-sql', 'borrowed-drizzle'],
      );
    } finally {
      await sql.end();
    }
  });

  test('a database without the tables says to migrate it; migrate: true does', async () => {
    const empty = await createTestDatabase();
    try {
      await assert.rejects(
        connect({ databaseUrl: empty.url }),
        /has no Metronome tables: run 'beat migrate'/,
      );
      const migrated = await connect({ databaseUrl: empty.url, migrate: true });
      assert.deepEqual(await migrated.list(), []);
      await migrated.close();
    } finally {
      await empty.drop();
    }
  });

  test('without a database it says how to give one', async () => {
    const saved = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    try {
      await assert.rejects(connect(), /connect\(\) needs a database: .*DATABASE_URL/);
    } finally {
      if (saved !== undefined) process.env.DATABASE_URL = saved;
    }
  });
});

describe('beat add and beat remove are the same operations', () => {
  test('both leave an audit record (via cli)', async () => {
    const env = { DATABASE_URL: pg.url };
    const added = await beat(['add', 'cli.one', '--task', 't', '--every', '1m'], env);
    assert.equal(added.code, 0, added.stderr);
    const removed = await beat(['remove', 'cli.one'], env);
    assert.equal(removed.code, 0, removed.stderr);
    const entries = await audit('cli.one');
    assert.deepEqual(
      entries.map((e) => `${e.via}:${e.action}`),
      ['cli:create', 'cli:remove'],
    );
    const [row] = await pg.sql<
      { source: string }[]
    >`select detail->>'source' as source from metronome.audit_log where schedule_name = 'cli.one' and action = 'create'`;
    assert.equal(row?.source, 'beat add');
  });
});
