/**
 * Numbers in args, kwargs and headers reach the worker exactly as the jsonb row holds them:
 * integers beyond 2^53 stay integers (once `1234567890123456789` arrived as
 * `1.2345678901234568e+18`), `1.0` stays a float (it arrived as `1`), and `-0.0` (jsonb keeps
 * `0.0`) a float zero. Proven with real Celery workers (Redis and RabbitMQ brokers), which record
 * what they received, and with the data BullMQ stores for the job; on both database drivers' reads.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { findSchedule } from '../../src/db/sql/schedules-read.ts';
import {
  canonicalJson,
  ExactNumber,
  type JsonValue,
  parseJsonExact,
  stringifyJson,
} from '../../src/model/json.ts';
import { argsRepr, kwargsRepr } from '../../src/transports/celery/python-repr.ts';
import { beatEnv } from '../support/beat-env.ts';
import { BeatProcess, eventually, STARTUP_MS } from '../support/beat-process.ts';
import { CeleryWorker, cleanupCeleryDirs, requireCelery } from '../support/celery-worker.ts';
import { createMigratedDatabase, createMigratedPglite, type TestPglite } from '../support/migrated.ts';
import type { TestDatabase } from '../support/pg.ts';
import { createVhost } from '../support/rabbitmq.ts';
import {
  connectTestRedis,
  deletePrefix,
  REDIS_URL,
  RedisServerProcess,
  randomPrefix,
} from '../support/redis.ts';
import { runPython } from './python.ts';

/** What the rows are given (as jsonb text); Postgres keeps `-0.0` as `0.0` (see HELD_ARGS). */
const ARGS =
  '[1234567890123456789, 9223372036854775808, 1.0, -0.0, 0.000001, 100000000000000000000000000000001, 2.50, -17, 3, "x"]';
const HELD_ARGS = ARGS.replace('-0.0', '0.0');
const KWARGS =
  '{"big": 18446744073709551615, "f": 1.50, "neg": -9007199254740993, "nested": {"x": [1.0, 2, 12345678901234567890]}}';

/**
 * Whether the value a Python worker received (its json.dumps, read back exactly) is the value the
 * row holds: every integer the same integer, every other number a float equal to the row's double.
 */
function assertSamePythonValue(received: JsonValue, held: JsonValue, where: string): void {
  const isNumber = (v: JsonValue) => typeof v === 'number' || v instanceof ExactNumber;
  if (isNumber(held)) {
    assert.ok(isNumber(received), `${where}: ${stringifyJson(received)} is a number`);
    const heldText = held instanceof ExactNumber ? held.text : String(held);
    const gotText = received instanceof ExactNumber ? received.text : String(received);
    if (/^-?\d+$/.test(heldText)) {
      assert.match(gotText, /^-?\d+$/, `${where}: ${heldText} arrived as an int, not ${gotText}`);
      assert.equal(BigInt(gotText), BigInt(heldText), `${where}: the same integer`);
    } else {
      assert.match(gotText, /[.eE]/, `${where}: ${heldText} arrived as a float, not ${gotText}`);
      assert.equal(Number(gotText), Number(heldText), `${where}: the same double`);
    }
    return;
  }
  if (Array.isArray(held)) {
    assert.ok(Array.isArray(received), where);
    assert.equal(received.length, held.length, where);
    for (const [i, item] of held.entries())
      assertSamePythonValue((received as JsonValue[])[i] as JsonValue, item, `${where}[${i}]`);
    return;
  }
  if (held !== null && typeof held === 'object') {
    assert.ok(received !== null && typeof received === 'object' && !Array.isArray(received), where);
    const got = received as { [key: string]: JsonValue };
    assert.deepEqual(Object.keys(got).sort(), Object.keys(held).sort(), where);
    for (const [k, v] of Object.entries(held)) assertSamePythonValue(got[k] as JsonValue, v, `${where}.${k}`);
    return;
  }
  assert.deepEqual(received, held, where);
}

/** JSON text with keys sorted (jsonb keeps its own key order) and every number's text as it is. */
function sortedText(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v !== null && typeof v === 'object' && !(v instanceof ExactNumber)
        ? Object.fromEntries(
            Object.entries(v)
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([k, x]) => [k, sort(x)]),
          )
        : v;
  return stringifyJson(sort(value));
}

test('the exact parser keeps what a double would change, and writes it back verbatim', () => {
  const value = parseJsonExact(ARGS);
  assert.equal(stringifyJson(value), ARGS.replaceAll(', ', ','));
  assert.ok((value as JsonValue[])[0] instanceof ExactNumber);
  assert.equal((value as JsonValue[])[7], -17, 'safe integers stay plain numbers');
  assert.equal(canonicalJson(parseJsonExact('{"a": 1.0, "b": [100]}')), canonicalJson({ b: [100], a: 1 }));
  assert.notEqual(canonicalJson(parseJsonExact('[1.5]')), canonicalJson([1.25]));
  const proto = parseJsonExact('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(proto), Object.prototype, 'a __proto__ key is only a key');
  assert.deepEqual(Object.keys(proto), ['__proto__']);
});

test('argsrepr and kwargsrepr are what Celery writes for the values Python decodes', () => {
  const args = parseJsonExact(ARGS) as JsonValue[];
  const kwargs = parseJsonExact(KWARGS) as Record<string, JsonValue>;
  const python = runPython(
    `import json, sys
from celery.utils.saferepr import saferepr
args, kwargs = json.loads(sys.stdin.read())
print(saferepr(tuple(args), 1024)); print(saferepr(kwargs, 1024))`,
    { input: `[${ARGS}, ${KWARGS}]` },
  ).split('\n');
  assert.equal(argsRepr(args), python[0]);
  assert.equal(kwargsRepr(kwargs), python[1]);
});

test('both drivers read jsonb numbers exactly', async () => {
  const pg = await createMigratedDatabase();
  let postgres: Database | undefined;
  let lite: TestPglite | undefined;
  try {
    postgres = await openDatabase({ databaseUrl: pg.url, dataDir: '' });
    lite = await createMigratedPglite();
    for (const database of [postgres, lite.database]) {
      await database.rows(
        sql.raw(`insert into metronome.schedules (name, task, kind, every_ms, args, kwargs)
                 values ('exact', 't', 'interval', 60000, '${ARGS}', '${KWARGS}')`),
      );
      const record = await findSchedule(database.db, 'exact');
      assert.equal(stringifyJson(record?.args), stringifyJson(parseJsonExact(HELD_ARGS)), database.kind);
      assert.equal(sortedText(record?.kwargs), sortedText(parseJsonExact(KWARGS)), database.kind);
    }
  } finally {
    await postgres?.close();
    await lite?.remove();
    await pg.drop();
  }
});

describe('through a running beat', () => {
  let db: TestDatabase;
  const env: Record<string, string> = {};
  let beat: BeatProcess | undefined;

  before(async () => {
    db = await createMigratedDatabase();
    Object.assign(env, beatEnv(db.url));
  });
  after(async () => {
    await beat?.stop();
    await db?.drop();
    cleanupCeleryDirs();
  });

  /** A one-off two seconds from now with the exact values; returns its name. */
  async function oneOff(name: string, headers: string): Promise<string> {
    await db.sql.unsafe(
      `insert into metronome.schedules (name, task, kind, run_at, args, kwargs, headers, managed_by)
       values ($1, 'tasks.record', 'clocked', now() + interval '2 seconds', '${ARGS}', '${KWARGS}', '${headers}', 'db')`,
      [name],
    );
    return name;
  }

  async function rowValues(
    name: string,
  ): Promise<{ args: JsonValue; kwargs: JsonValue; headers: JsonValue }> {
    const [row] = await db.sql<{ args: string; kwargs: string; headers: string }[]>`
      select args::text as args, kwargs::text as kwargs, headers::text as headers
      from metronome.schedules where name = ${name}`;
    assert.ok(row);
    return {
      args: parseJsonExact(row.args),
      kwargs: parseJsonExact(row.kwargs),
      headers: parseJsonExact(row.headers),
    };
  }

  async function assertWorkerReceived(worker: CeleryWorker, name: string): Promise<void> {
    const line = await eventually(`${name} to run`, 20_000, () =>
      worker
        .recordLines()
        .find((l) => l.includes('"event": "start"') && l.includes(`"periodic_task_name": "${name}"`)),
    );
    const received = parseJsonExact(line) as { [key: string]: JsonValue };
    const held = await rowValues(name);
    assertSamePythonValue(received.args as JsonValue, held.args, 'args');
    assertSamePythonValue(received.kwargs as JsonValue, held.kwargs, 'kwargs');
    assertSamePythonValue(
      received.exact as JsonValue,
      (held.headers as { exact: JsonValue }).exact,
      'headers.exact',
    );
  }

  /** A real worker on `broker`, a beat sending to it, and one occurrence with exact numbers. */
  async function celeryCase(broker: string, name: string, headers: string): Promise<void> {
    requireCelery();
    const worker = await CeleryWorker.start({ broker, pool: 'solo', concurrency: 1 });
    try {
      beat = new BeatProcess('beat', { ...env, METRONOME_TRANSPORT: 'celery', BROKER_URL: broker });
      await beat.waitForLog('leading', STARTUP_MS);
      await assertWorkerReceived(worker, await oneOff(name, headers));
    } finally {
      await beat?.stop();
      beat = undefined;
      await worker.stop();
    }
  }

  test('a Celery worker on Redis receives exactly the numbers the row holds', async () => {
    const redis = await RedisServerProcess.start();
    try {
      await celeryCase(
        `${redis.url}/0`,
        'exact.redis',
        '{"exact": [123456789012345678901234567890, 0.10, 1.0, -5]}',
      );
    } finally {
      await redis.stop();
    }
  });

  test('a Celery worker on RabbitMQ receives exactly the numbers the row holds', async () => {
    const vhost = await createVhost();
    try {
      // An AMQP header holds integers from -2^31 to 2^63-1 (Celery cannot send others either), and
      // amqplib's own guesses for small numbers were read otherwise by py-amqp (-5 as 251, 1000 as bytes).
      await celeryCase(
        vhost.url,
        'exact.amqp',
        '{"exact": [9223372036854775807, 0.10, 1.0, -5, 1000, -2147483648]}',
      );
    } finally {
      await vhost.drop();
    }
  });

  test('BullMQ stores the job data with the same number text the row holds', async () => {
    const admin = await connectTestRedis();
    const prefix = randomPrefix('exact').slice(0, -1);
    try {
      beat = new BeatProcess('beat', {
        ...env,
        METRONOME_TRANSPORT: 'bullmq',
        REDIS_URL,
        METRONOME_BULLMQ_PREFIX: prefix,
        METRONOME_LOCK_PREFIX: `${prefix}:runlock:`,
      });
      await beat.waitForLog('leading', STARTUP_MS);
      const name = await oneOff('exact.bullmq', '{"exact": [123456789012345678901234567890, 1.0]}');
      const [occurrence] = await eventually('the occurrence', 10_000, async () => {
        const rows = await db.sql<{ task_id: string }[]>`
          select task_id from metronome.occurrences where schedule_name = ${name} and status <> 'claimed'`;
        return rows.length > 0 ? rows : undefined;
      });
      const data = await admin.hget(`${prefix}:metronome:${occurrence?.task_id}`, 'data');
      assert.ok(data, 'the job exists');
      const job = parseJsonExact(data) as { [key: string]: JsonValue };
      const held = await rowValues(name);
      for (const key of ['args', 'kwargs', 'headers'] as const) {
        assert.equal(sortedText(job[key]), sortedText(held[key]), `${key}: the same text`);
      }
      assert.ok(data.includes('1234567890123456789,9223372036854775808,1.0,0.0,0.000001'), data);
    } finally {
      await beat?.stop();
      beat = undefined;
      await deletePrefix(admin, `${prefix}:`);
      admin.disconnect();
    }
  });
});
