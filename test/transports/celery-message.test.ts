/**
 * The Celery message encoder against the truth: the real capture in docs/celery-protocol.md, captures
 * of Python's Celery 5.2.6 (test/fixtures/celery/captures.json, made by make-captures.py beside it),
 * every trap the spec lists, and Debian's real Python for repr, JSON, dates and signature checking.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { pythonJsonDumps } from '../../src/transports/celery/json.ts';
import {
  amqpHeaders,
  amqpPublishArgs,
  buildProtocolV2,
  CeleryMessageError,
  type CeleryTaskMessage,
  celeryPriorityForAmqp,
  celeryPriorityForRedis,
  certificateSignerId,
  encodeRedisEnvelope,
  finishRedisEnvelope,
  type JsonValue,
  PROTOCOL_HEADER_KEYS,
  prepareRedisEnvelope,
  type RedisEnvelopeOptions,
  redisBindingKey,
  redisBindingMember,
  redisPush,
  redisQueueKey,
  signBody,
} from '../../src/transports/celery/message.ts';
import { formatPythonDate } from '../../src/transports/celery/python-date.ts';
import { pythonFloatRepr } from '../../src/transports/celery/python-float.ts';
import {
  argsRepr,
  kwargsRepr,
  pythonRepr,
  pythonStrRepr,
  pythonTupleRepr,
} from '../../src/transports/celery/python-repr.ts';
import { pythonMap, runPython } from './python.ts';

/** `add.apply_async((2, 3))` as Python's Celery stored it on Redis (docs/celery-protocol.md). */
const SPEC_CAPTURE =
  '{"body": "W1syLCAzXSwge30sIHsiY2FsbGJhY2tzIjogbnVsbCwgImVycmJhY2tzIjogbnVsbCwgImNoYWluIjogbnVsbCwgImNob3JkIjogbnVsbH1d", "content-encoding": "utf-8", "content-type": "application/json", "headers": {"lang": "py", "task": "tasks.add", "id": "00000000-0000-4000-8000-00000000a001", "shadow": null, "eta": null, "expires": null, "group": null, "group_index": null, "retries": 0, "timelimit": [null, null], "root_id": "00000000-0000-4000-8000-00000000a001", "parent_id": null, "argsrepr": "(2, 3)", "kwargsrepr": "{}", "origin": "gen7435@vm", "ignore_result": false}, "properties": {"correlation_id": "00000000-0000-4000-8000-00000000a001", "reply_to": "a15c3e33-3376-36fe-8916-4d5adf4d6676", "delivery_mode": 2, "delivery_info": {"exchange": "", "routing_key": "celery"}, "priority": 0, "body_encoding": "base64", "delivery_tag": "0d453a2f-deda-49b0-b4af-c09aeaad3004"}}';

const ADD: CeleryTaskMessage = {
  taskId: '00000000-0000-4000-8000-00000000a001',
  task: 'tasks.add',
  args: [2, 3],
  kwargs: {},
  queue: 'celery',
  origin: 'gen7435@vm',
};
const ADD_OPTIONS: RedisEnvelopeOptions = {
  deliveryTag: '0d453a2f-deda-49b0-b4af-c09aeaad3004',
  replyTo: 'a15c3e33-3376-36fe-8916-4d5adf4d6676',
};

interface Capture {
  name: string;
  message: CeleryTaskMessage;
  options: RedisEnvelopeOptions & { globalKeyprefix?: string };
  listKey: string;
  bindings: Record<string, string[]>;
  envelope: string;
}
const CAPTURES = (
  JSON.parse(readFileSync(new URL('../fixtures/celery/captures.json', import.meta.url), 'utf8')) as {
    cases: Capture[];
  }
).cases;

/** Every object's keys in order, recursively: deepEqual ignores key order, the wire does not. */
function keyPaths(value: unknown, path = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => keyPaths(v, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => [`${path}.${k}`, ...keyPaths(v, `${path}.${k}`)]);
  }
  return [];
}

const decodeBody = (envelope: string): unknown =>
  JSON.parse(Buffer.from((JSON.parse(envelope) as { body: string }).body, 'base64').toString('utf8'));

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const PY_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/;

function throwsField(fn: () => unknown, field: string, text?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CeleryMessageError, `expected a CeleryMessageError, got ${String(err)}`);
    assert.equal(err.field, field);
    assert.match(err.message, new RegExp(field.replace(/[.[\]]/g, '\\$&')));
    if (text) assert.match(err.message, text);
    return true;
  });
}

describe('byte-exact against Python captures', () => {
  test('the spec capture of add.apply_async((2, 3)) is reproduced byte for byte', () => {
    const ours = encodeRedisEnvelope(ADD, ADD_OPTIONS);
    assert.deepEqual(JSON.parse(ours), JSON.parse(SPEC_CAPTURE));
    assert.deepEqual(keyPaths(JSON.parse(ours)), keyPaths(JSON.parse(SPEC_CAPTURE)));
    assert.equal(ours, SPEC_CAPTURE);
    assert.equal(redisQueueKey(ADD.queue, ADD.priority), 'celery');
  });

  for (const capture of CAPTURES) {
    test(`capture: ${capture.name}`, () => {
      let ours = encodeRedisEnvelope(capture.message, capture.options);
      let theirs = capture.envelope;
      const p = capture.message.priority;
      if (typeof p === 'number' && p > 9) {
        // Python stores the priority as given and clamps only to pick the list; we store it clamped.
        theirs = theirs.replace(`"priority": ${p},`, '"priority": 9,');
        assert.match(ours, /"priority": 9,/);
      }
      assert.deepEqual(JSON.parse(ours), JSON.parse(theirs));
      assert.deepEqual(keyPaths(JSON.parse(ours)), keyPaths(JSON.parse(theirs)));
      assert.equal(ours, theirs);
      const prefix = capture.options.globalKeyprefix ?? '';
      assert.equal(redisQueueKey(capture.message.queue, capture.message.priority, prefix), capture.listKey);
      for (const [key, members] of Object.entries(capture.bindings)) {
        assert.equal(redisBindingKey(capture.message.queue, prefix), key);
        assert.deepEqual(members, [redisBindingMember(capture.message.queue)]);
      }
      const push = redisPush(capture.message, capture.options);
      assert.equal(push.listKey, capture.listKey);
      ours = push.envelope;
      assert.equal(JSON.parse(ours).properties.delivery_tag, capture.options.deliveryTag);
    });
  }
});

describe('encoded ahead of the send (claim ahead)', () => {
  test('an envelope prepared ahead and finished at the send is the one encoded at the send, byte for byte', () => {
    for (const capture of CAPTURES) {
      const { deliveryTag, now, replyTo, signing } = capture.options;
      const prepared = prepareRedisEnvelope(capture.message, {
        ...(replyTo === undefined ? {} : { replyTo }),
        ...(signing === undefined ? {} : { signing }),
      });
      assert.equal(
        finishRedisEnvelope(prepared, { deliveryTag, now }),
        encodeRedisEnvelope(capture.message, capture.options),
        capture.name,
      );
      const push = redisPush(capture.message, { ...capture.options, prepared });
      assert.equal(push.envelope, encodeRedisEnvelope(capture.message, capture.options), capture.name);
    }
  });

  test('its expiration counts from the send, not from the preparation; each send has a tag of its own', () => {
    const prepared = prepareRedisEnvelope({ ...ADD, expiresAt: 10_000 });
    const at = (now: number) => JSON.parse(finishRedisEnvelope(prepared, { now })).properties;
    assert.equal(at(1_000).expiration, '9000');
    assert.equal(at(8_500).expiration, '1500');
    assert.equal(at(12_000).expiration, '0');
    assert.notEqual(at(1_000).delivery_tag, at(1_000).delivery_tag);
  });
});

describe('traps the spec lists', () => {
  test('the Redis envelope always carries delivery_tag (a fresh UUID) and delivery_info', () => {
    const a = JSON.parse(encodeRedisEnvelope(ADD));
    const b = JSON.parse(encodeRedisEnvelope(ADD));
    for (const env of [a, b]) {
      assert.match(env.properties.delivery_tag, UUID);
      assert.deepEqual(env.properties.delivery_info, { exchange: '', routing_key: 'celery' });
      assert.equal(env.properties.body_encoding, 'base64');
      assert.equal(env.properties.delivery_mode, 2);
      assert.equal(env.properties.correlation_id, ADD.taskId);
    }
    assert.notEqual(a.properties.delivery_tag, b.properties.delivery_tag);
    const push = redisPush(ADD);
    assert.match(push.deliveryTag, UUID);
    assert.equal(JSON.parse(push.envelope).properties.delivery_tag, push.deliveryTag);
  });

  test('the body always has exactly three elements: args, kwargs and the four null embed keys', () => {
    for (const msg of [ADD, { ...ADD, args: [], kwargs: { a: [1, { b: null }] } }, { ...ADD, args: [[]] }]) {
      const body = JSON.parse(buildProtocolV2(msg).body) as unknown[];
      assert.equal(body.length, 3);
      assert.deepEqual(body[0], msg.args);
      assert.deepEqual(body[1], msg.kwargs);
      assert.deepEqual(body[2], { callbacks: null, errbacks: null, chain: null, chord: null });
      assert.deepEqual(Object.keys(body[2] as object), ['callbacks', 'errbacks', 'chain', 'chord']);
      assert.deepEqual(decodeBody(encodeRedisEnvelope(msg)), body);
      assert.deepEqual(JSON.parse(amqpPublishArgs(msg).content.toString('utf8')), body);
    }
  });

  test('kwargs must be a plain object, args an array, names non-empty: the encoder throws naming the field', () => {
    const bad = (patch: Record<string, unknown>) => () =>
      buildProtocolV2({ ...ADD, ...patch } as CeleryTaskMessage);
    for (const kwargs of [[], null, undefined, 'a=1', 42, new Map([['a', 1]]), new Date(0), [['a', 1]]]) {
      throwsField(bad({ kwargs }), 'kwargs', /plain object/);
      throwsField(() => encodeRedisEnvelope({ ...ADD, kwargs } as unknown as CeleryTaskMessage), 'kwargs');
      throwsField(() => amqpPublishArgs({ ...ADD, kwargs } as unknown as CeleryTaskMessage), 'kwargs');
    }
    for (const args of [{}, null, undefined, '2, 3', 5]) throwsField(bad({ args }), 'args', /array/);
    for (const task of ['', null, undefined, 7]) throwsField(bad({ task }), 'task');
    throwsField(bad({ taskId: '' }), 'taskId');
    throwsField(bad({ queue: '' }), 'queue');
    throwsField(bad({ origin: undefined }), 'origin');
    throwsField(bad({ timeLimit: -1 }), 'timeLimit');
    throwsField(bad({ softTimeLimit: Number.NaN }), 'softTimeLimit');
    throwsField(bad({ expiresAt: '2026-01-01' }), 'expiresAt');
    throwsField(bad({ headers: [] }), 'headers');
    throwsField(() => encodeRedisEnvelope({ ...ADD, priority: Number.NaN }), 'priority');
  });

  test('values that are not JSON are refused with their path', () => {
    const bad = (patch: Partial<CeleryTaskMessage>) => () => buildProtocolV2({ ...ADD, ...patch });
    throwsField(bad({ args: [1, undefined as unknown as JsonValue] }), 'args[1]');
    throwsField(bad({ args: [Number.NaN] }), 'args[0]');
    throwsField(bad({ kwargs: { when: new Date() as unknown as JsonValue } }), 'kwargs.when');
    throwsField(bad({ kwargs: { f: (() => 1) as unknown as JsonValue } }), 'kwargs.f');
    throwsField(bad({ headers: { big: 10n as unknown as JsonValue } }), 'headers.big');
    const cyclic: JsonValue[] = [];
    cyclic.push(cyclic);
    throwsField(bad({ args: cyclic }), 'args[0]', /cycle/);
  });

  test('dates have six fraction digits and +00:00, and Celery 5.2 reads them as the same instant', () => {
    assert.equal(
      formatPythonDate(Date.UTC(2026, 10, 21, 4, 48, 43, 973)),
      '2026-11-21T04:48:43.973000+00:00',
    );
    assert.equal(formatPythonDate(Date.UTC(2026, 0, 1)), '2026-01-01T00:00:00.000000+00:00');
    assert.equal(formatPythonDate(Date.UTC(2026, 0, 1) + 0.001), '2026-01-01T00:00:00.000001+00:00');
    assert.equal(formatPythonDate(Date.UTC(2026, 0, 1) + 999.9996), '2026-01-01T00:00:01.000000+00:00');
    assert.equal(formatPythonDate(-62135596800000), '0001-01-01T00:00:00.000000+00:00');
    assert.equal(formatPythonDate(253402300799999), '9999-12-31T23:59:59.999000+00:00');
    assert.throws(() => formatPythonDate(-62135596800001), RangeError);
    assert.throws(() => formatPythonDate(253402300800000), RangeError);
    assert.throws(() => formatPythonDate(Number.NaN), RangeError);

    const instants = [
      Date.UTC(2026, 10, 21, 4, 48, 43, 973),
      Date.UTC(2000, 1, 29, 23, 59, 59, 1),
      0,
      1795236523973.5,
    ];
    for (const ms of instants) assert.match(formatPythonDate(ms), PY_DATE);
    // Celery's own parser, and what it makes of a JavaScript toISOString() (the trap).
    const parsed = pythonMap<[number, number]>(
      instants.map((ms) => JSON.stringify([formatPythonDate(ms), new Date(ms).toISOString()])),
      `ours, js = json.loads(line)
a = parse_iso8601(ours)
b = parse_iso8601(js)
assert a.utcoffset().total_seconds() == 0
out = [a.timestamp() * 1000, b.microsecond]`,
      'from celery.utils.iso8601 import parse_iso8601',
    );
    parsed.forEach(([ms, jsMicros], i) => {
      assert.ok(Math.abs(ms - (instants[i] as number)) < 0.001, `${formatPythonDate(instants[i] as number)}`);
      // ".973Z" is read as 973 microseconds, not 973 milliseconds.
      assert.equal(jsMicros, new Date(instants[i] as number).getUTCMilliseconds());
    });

    const { headers } = buildProtocolV2({
      ...ADD,
      expiresAt: Date.UTC(2026, 10, 21, 4, 48, 43, 973),
      scheduledFor: 0,
    });
    assert.equal(headers.expires, '2026-11-21T04:48:43.973000+00:00');
    assert.equal(headers.scheduled_for, '1970-01-01T00:00:00.000000+00:00');
    assert.equal(headers.eta, null);
  });

  test('timelimit is [hard, soft], with nulls for what is unset', () => {
    const tl = (m: Partial<CeleryTaskMessage>) => buildProtocolV2({ ...ADD, ...m }).headers.timelimit;
    assert.deepEqual(tl({ timeLimit: 30, softTimeLimit: 20 }), [30, 20]);
    assert.deepEqual(tl({ timeLimit: 30 }), [30, null]);
    assert.deepEqual(tl({ softTimeLimit: 20 }), [null, 20]);
    assert.deepEqual(tl({ timeLimit: null, softTimeLimit: null }), [null, null]);
    assert.match(
      encodeRedisEnvelope({ ...ADD, timeLimit: 1.5, softTimeLimit: 1 }),
      /"timelimit": \[1\.5, 1\]/,
    );
  });

  test('an expiring message carries the expires header, and on Redis a relative expiration like Python', () => {
    const now = Date.UTC(2026, 10, 21, 4, 0, 0);
    const env = JSON.parse(encodeRedisEnvelope({ ...ADD, expiresAt: now + 90_000.7 }, { now }));
    assert.equal(env.headers.expires, '2026-11-21T04:01:30.000700+00:00');
    assert.equal(env.properties.expiration, '90000');
    assert.deepEqual(Object.keys(env.properties).slice(0, 5), [
      'correlation_id',
      'reply_to',
      'delivery_mode',
      'expiration',
      'delivery_info',
    ]);
    const late = JSON.parse(encodeRedisEnvelope({ ...ADD, expiresAt: now - 5 }, { now }));
    assert.equal(late.properties.expiration, '0');
    assert.equal('expiration' in JSON.parse(encodeRedisEnvelope(ADD)).properties, false);
  });

  test('on Redis with the default exchange, a routing key other than the queue is refused', () => {
    throwsField(() => encodeRedisEnvelope({ ...ADD, routingKey: 'elsewhere' }), 'routingKey', /redelivered/);
    const env = JSON.parse(encodeRedisEnvelope({ ...ADD, exchange: 'celery', routingKey: 'celery' }));
    assert.deepEqual(env.properties.delivery_info, { exchange: 'celery', routing_key: 'celery' });
  });
});

describe('headers', () => {
  test('all protocol keys in Celery order, then custom headers, then periodic_task_name and scheduled_for', () => {
    const v2 = buildProtocolV2({
      ...ADD,
      headers: { tenant: 'acme', 10: 'integer-like', trace: { id: 'x' } },
      periodicTaskName: 'nightly',
      scheduledFor: Date.UTC(2026, 10, 21, 4, 48, 43, 973),
    });
    // The custom headers come in the input object's own key order (in JS, integer-like keys first).
    const order = [...PROTOCOL_HEADER_KEYS, '10', 'tenant', 'trace', 'periodic_task_name', 'scheduled_for'];
    assert.deepEqual(
      v2.headerEntries.map(([k]) => k),
      order,
    );
    // The envelope keeps that order even for an integer-like name, which a JS object would move first.
    assert.deepEqual(
      Object.keys(JSON.parse(encodeRedisEnvelope({ ...ADD, headers: { 10: 'x' } })).headers).at(0),
      '10',
    );
    assert.match(
      encodeRedisEnvelope({ ...ADD, headers: { 10: 'x' } }),
      /"ignore_result": false, "10": "x"\}/,
    );
    assert.equal(v2.headers.periodic_task_name, 'nightly');
    assert.equal(v2.headers.scheduled_for, '2026-11-21T04:48:43.973000+00:00');
    assert.equal(v2.headers.root_id, ADD.taskId);
    assert.equal(v2.headers.ignore_result, false);
    assert.equal(v2.headers.retries, 0);
    assert.deepEqual(v2.properties, { correlation_id: ADD.taskId, reply_to: '' });
  });

  test('a custom header may not override a protocol or scheduler header', () => {
    for (const name of [...PROTOCOL_HEADER_KEYS, 'periodic_task_name', 'scheduled_for']) {
      throwsField(
        () => buildProtocolV2({ ...ADD, headers: { ok: 1, [name]: 'x' } }),
        `headers.${name}`,
        /collides/,
      );
    }
  });
});

describe('priority', () => {
  test('Redis lists by kombu priority steps, clamped to 0–9', () => {
    const expected = [
      'q',
      'q',
      'q',
      'q\x06\x163',
      'q\x06\x163',
      'q\x06\x163',
      'q\x06\x166',
      'q\x06\x166',
      'q\x06\x166',
      'q\x06\x169',
    ];
    for (let p = 0; p <= 9; p++) assert.equal(redisQueueKey('q', p), expected[p], `priority ${p}`);
    assert.equal(redisQueueKey('q', -4), 'q');
    assert.equal(redisQueueKey('q', 200), 'q\x06\x169');
    assert.equal(redisQueueKey('q', 5.9), 'q\x06\x163');
    assert.equal(redisQueueKey('q', undefined), 'q');
    assert.equal(redisQueueKey('q', null), 'q');
    assert.equal(redisQueueKey('q', 6, 'pfx:'), 'pfx:q\x06\x166');
    assert.equal(redisBindingKey('q', 'pfx:'), 'pfx:_kombu.binding.q');
    assert.equal(redisBindingKey('q'), '_kombu.binding.q');
    assert.equal(redisBindingMember('q'), 'q\x06\x16\x06\x16q');
  });

  test('the priority is Celery’s own value, clamped per broker', () => {
    assert.deepEqual([-1, 0, 4, 9, 10, 300].map(celeryPriorityForRedis), [0, 0, 4, 9, 9, 9]);
    assert.deepEqual([-1, 0, 4, 9, 10, 300].map(celeryPriorityForAmqp), [0, 0, 4, 9, 10, 255]);
    assert.equal(celeryPriorityForRedis(undefined), 0);
    assert.equal(celeryPriorityForAmqp(null), 0);
    assert.equal(JSON.parse(encodeRedisEnvelope({ ...ADD, priority: 7 })).properties.priority, 7);
    assert.equal(amqpPublishArgs({ ...ADD, priority: 7 }).options.priority, 7);
  });
});

describe('AMQP publish arguments', () => {
  test('raw body JSON, headers as AMQP application headers, no expiration', () => {
    const msg: CeleryTaskMessage = {
      ...ADD,
      priority: 3,
      expiresAt: Date.UTC(2026, 10, 21),
      queue: 'reports',
    };
    const pub = amqpPublishArgs(msg);
    const v2 = buildProtocolV2(msg);
    assert.equal(pub.exchange, '');
    assert.equal(pub.routingKey, 'reports');
    assert.equal(pub.content.toString('utf8'), v2.body);
    assert.equal(
      pub.content.toString('utf8'),
      Buffer.from(JSON.parse(SPEC_CAPTURE).body, 'base64').toString('utf8'),
    );
    assert.deepEqual(pub.options, {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      headers: amqpHeaders(v2.headers),
      deliveryMode: 2,
      priority: 3,
      correlationId: ADD.taskId,
    });
    assert.equal('expiration' in pub.options, false);
    assert.equal(pub.options.headers.expires, '2026-11-21T00:00:00.000000+00:00');
    const routed = amqpPublishArgs({ ...ADD, exchange: 'tasks', routingKey: 'tasks.add' }, { replyTo: 'r' });
    assert.equal(routed.exchange, 'tasks');
    assert.equal(routed.routingKey, 'tasks.add');
    assert.equal(routed.options.replyTo, 'r');
  });
});

/** Strings built from characters whose handling differs between repr, saferepr and json.dumps. */
const TRICKY_CHARS = [
  'a',
  ' ',
  "'",
  '"',
  '\\',
  '\n',
  '\r',
  '\t',
  '\x00',
  '\x07',
  '\x1f',
  '\x7f',
  '\x80',
  '\xa0',
  '\xad',
  'é',
  'ÿ',
  'Ā',
  '\u2028',
  '\u200b',
  '\ufeff',
  '\ue000',
  '\u0378',
  '😀',
  '\ud800',
  '\udfff',
  '\u{e0001}',
  '\u{10ffff}',
  '中',
];

const trickyValue = fc.jsonValue({
  maxDepth: 5,
  stringUnit: fc.constantFrom(...TRICKY_CHARS),
}) as fc.Arbitrary<JsonValue>;

const SPECIAL_NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.1,
  0.5,
  1.5,
  -2.5,
  1e16,
  1e15,
  9007199254740991,
  9007199254740992,
  2 ** 60,
  1e21,
  1e22,
  1e100,
  1e-4,
  1e-5,
  0.0001234,
  123456789.123,
  5e-324,
  Number.MAX_VALUE,
  1 / 3,
  2 / 3,
  100,
];

describe('Python repr and JSON, checked against real Python', () => {
  const fixed: JsonValue[] = [
    null,
    true,
    false,
    "it's",
    'a"b',
    `both ' and "`,
    'back\\slash',
    'line\nbreak\ttab\rcr',
    '\x00\x01\x7f',
    'é中😀',
    '\u200b\u2028\xa0\xad',
    '\ud800 lone',
    '',
    [],
    {},
    [1, [2, [3, [4, [5]]]]],
    { a: { b: { c: { d: {} } } } },
    { "key'q": 'v', 'key"q': [null] },
    ...SPECIAL_NUMBERS,
    { '1': 'integer-like keys come first in JS', b: 2 },
    Array.from({ length: 600 }, (_, i) => i),
    { long: 'word '.repeat(400), list: Array.from({ length: 300 }, (_, i) => `s${i}`) },
    'x'.repeat(1030),
  ];
  const values = [...fixed, ...fc.sample(trickyValue, { numRuns: 400, seed: 4242 })];

  test('pythonJsonDumps is a fixed point of Python’s json.loads/json.dumps', () => {
    const ours = values.map((v) => pythonJsonDumps(v));
    const theirs = pythonMap<string>(ours, 'out = json.dumps(json.loads(line))');
    for (const [i, s] of ours.entries()) assert.equal(s, theirs[i], `value ${JSON.stringify(values[i])}`);
    assert.equal(pythonJsonDumps({ a: [1, 'é'] }), '{"a": [1, "\\u00e9"]}');
  });

  test('pythonRepr is repr() of what Python decodes from our JSON', () => {
    const theirs = pythonMap<string>(
      values.map((v) => pythonJsonDumps(v)),
      'out = repr(json.loads(line))',
    );
    for (const [i, v] of values.entries())
      assert.equal(pythonRepr(v), theirs[i], `value ${JSON.stringify(v)}`);
    assert.equal(pythonRepr("it's"), `"it's"`);
    assert.equal(pythonRepr('a"b'), `'a"b'`);
    assert.equal(pythonRepr(`'"`), `'\\'"'`);
    assert.equal(pythonStrRepr('\n\t\x00é'), "'\\n\\t\\x00é'");
    assert.equal(pythonRepr({ a: [1, null, true] }), "{'a': [1, None, True]}");
    assert.equal(pythonTupleRepr([]), '()');
    assert.equal(pythonTupleRepr([1]), '(1,)');
    assert.equal(pythonTupleRepr([2, 3]), '(2, 3)');
  });

  test('argsrepr and kwargsrepr are Celery’s saferepr(tuple(args), 1024) and saferepr(kwargs, 1024)', () => {
    const argLists: JsonValue[][] = [
      [],
      [1],
      [2, 3],
      ...values.map((v) => [v]),
      ...values.map((v, i) => [v, values[(i * 7) % values.length] as JsonValue]),
    ];
    const kwargDicts = values.map((v, i) => ({ a: v, [`k${i}`]: [v, v] }) as Record<string, JsonValue>);
    const argsTheirs = pythonMap<string>(
      argLists.map((a) => pythonJsonDumps(a)),
      'out = saferepr(tuple(json.loads(line)), 1024)',
      'from celery.utils.saferepr import saferepr',
    );
    for (const [i, a] of argLists.entries())
      assert.equal(argsRepr(a), argsTheirs[i], `args ${JSON.stringify(a)}`);
    const kwargsTheirs = pythonMap<string>(
      kwargDicts.map((k) => pythonJsonDumps(k)),
      'out = saferepr(json.loads(line), 1024)',
      'from celery.utils.saferepr import saferepr',
    );
    for (const [i, k] of kwargDicts.entries())
      assert.equal(kwargsRepr(k), kwargsTheirs[i], `kwargs ${JSON.stringify(k)}`);
    assert.equal(argsRepr([]), '()');
    assert.equal(argsRepr([1]), '(1,)');
    assert.equal(argsRepr([2, 3]), '(2, 3)');
    assert.equal(kwargsRepr({ a: 1 }), "{'a': 1}");
    assert.equal(argsRepr(["it's", 'a\nb']), "('it\\'s', 'a\nb')");
  });

  test('floats print as Python prints them', () => {
    const doubles = [
      ...SPECIAL_NUMBERS,
      ...fc.sample(fc.double({ noNaN: true }), { numRuns: 300, seed: 7 }),
      ...fc.sample(fc.integer({ min: -1e6, max: 1e6 }), { numRuns: 50, seed: 8 }).map((n) => n / 1000),
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ];
    const theirs = pythonMap<string>(
      doubles.map((d) => JSON.stringify(Object.is(d, -0) ? '-0' : String(d))),
      'out = repr(float(json.loads(line)))',
    );
    for (const [i, d] of doubles.entries()) assert.equal(pythonFloatRepr(d), theirs[i], `${d}`);
    assert.equal(pythonFloatRepr(1), '1.0');
    assert.equal(pythonFloatRepr(1e100), '1e+100');
    assert.equal(pythonFloatRepr(0.1), '0.1');
    assert.equal(pythonFloatRepr(Number.NaN), 'nan');
  });
});

describe('message signing (Celery auth serializer), verified by Celery’s own SecureSerializer', () => {
  let dir = '';
  let keyPem = '';
  let certPem = '';
  const ISSUER = ['DE', 'Berlin', 'Metronome, Test', 'Zürich signer'];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'metronome-celery-sign-'));
    mkdirSync(join(dir, 'store'));
    execFileSync(
      '/usr/bin/openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-utf8',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '2',
        '-set_serial',
        '0xc0ffee0123456789abcdef',
        '-subj',
        `/C=${ISSUER[0]}/ST=${ISSUER[1]}/O=${ISSUER[2]}/CN=${ISSUER[3]}`,
      ],
      { stdio: 'pipe' },
    );
    keyPem = readFileSync(join(dir, 'key.pem'), 'utf8');
    certPem = readFileSync(join(dir, 'cert.pem'), 'utf8');
    writeFileSync(join(dir, 'store', 'cert.pem'), certPem);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const VERIFY = `
import sys, json
from celery.security.serialization import SecureSerializer
from celery.security.certificate import Certificate, FSCertStore
from celery.security.key import PrivateKey
key, cert, store = sys.argv[1:4]
s = SecureSerializer(PrivateKey(open(key).read()), Certificate(open(cert).read()), FSCertStore(store), 'sha256', 'json')
def handle(data):
    try:
        return {'ok': json.dumps(s.deserialize(data))}
    except Exception as exc:
        return {'error': f'{type(exc).__name__}: {exc}'}
print(json.dumps({
    'id': Certificate(open(cert).read()).get_id(),
    'python_signed': s.serialize(json.loads(sys.stdin.readline())),
    'results': [handle(line.strip()) for line in sys.stdin if line.strip()],
}))
`;
  const verify = (bodyJson: string, payloads: string[]) =>
    JSON.parse(
      runPython(VERIFY, {
        args: [join(dir, 'key.pem'), join(dir, 'cert.pem'), join(dir, 'store')],
        input: `${bodyJson}\n${payloads.join('\n')}\n`,
      }),
    ) as { id: string; python_signed: string; results: { ok?: string; error?: string }[] };

  const SEP = Buffer.from([0, 1]);
  /** Splits a packed payload the way Celery does: the signature is cut out by length (2048-bit → 256). */
  function unpack(b64: string) {
    const raw = Buffer.from(b64, 'base64');
    const first = raw.indexOf(SEP);
    const signature = raw.subarray(first + 2, first + 2 + 256);
    const rest = raw
      .subarray(first + 2 + 256 + 2)
      .toString('utf8')
      .split('\x00\x01');
    return { signer: raw.subarray(0, first).toString('utf8'), signature, rest };
  }

  test('Celery accepts our signed body and returns the body; a tampered body is rejected', () => {
    const msg: CeleryTaskMessage = {
      ...ADD,
      args: [2, 'é\x00\x01'],
      kwargs: { nested: { list: [1.5, null] } },
    };
    const body = buildProtocolV2(msg).body;
    const signed = signBody(body, { keyPem, certPem });
    assert.equal(signed.contentType, 'application/data');
    assert.equal(signed.contentEncoding, 'utf-8');

    const raw = Buffer.from(signed.body, 'base64');
    const bodyAt = raw.lastIndexOf(Buffer.from(body));
    const tamperedBody = Buffer.from(raw);
    tamperedBody[bodyAt + 2] = '9'.charCodeAt(0); // [[2, ... -> [[9, ...
    const tamperedSig = Buffer.from(raw);
    const sigAt = raw.indexOf(SEP) + 2;
    tamperedSig[sigAt + 10] = (tamperedSig[sigAt + 10] as number) ^ 0xff;

    const out = verify(body, [signed.body, tamperedBody.toString('base64'), tamperedSig.toString('base64')]);
    assert.equal(out.id, certificateSignerId(certPem));
    assert.equal(out.id, `${ISSUER.join(' ')} ${BigInt('0xc0ffee0123456789abcdef').toString()}`);
    assert.deepEqual(out.results[0], { ok: body });
    // Rejected with SecurityError. (Celery 5.2.6's message is odd: its reraise_errors catches the module
    // cryptography.exceptions instead of a class, so InvalidSignature surfaces as a TypeError inside.)
    for (const rejected of out.results.slice(1)) {
      assert.equal(rejected.ok, undefined);
      assert.match(
        rejected.error ?? '',
        /^SecurityError: .*(Bad signature|catching classes that do not inherit)/,
      );
    }

    // Our layout equals Python's own serialize() in every field but the (salted, so random) signature.
    const ours = unpack(signed.body);
    const theirs = unpack(out.python_signed);
    assert.equal(ours.signer, theirs.signer);
    assert.deepEqual(ours.rest, theirs.rest);
    assert.deepEqual(ours.rest, ['application/json', 'utf-8', body]);
    assert.equal(ours.signature.length, 256);
  });

  test('signed envelopes: Redis base64-encodes the signed payload again; AMQP carries it raw', () => {
    const env = JSON.parse(encodeRedisEnvelope(ADD, { ...ADD_OPTIONS, signing: { keyPem, certPem } }));
    assert.equal(env['content-type'], 'application/data');
    assert.equal(env['content-encoding'], 'utf-8');
    const inner = Buffer.from(env.body, 'base64').toString('utf8');
    const pub = amqpPublishArgs(ADD, { signing: { keyPem, certPem } });
    assert.equal(pub.options.contentType, 'application/data');
    const out = verify(buildProtocolV2(ADD).body, [inner, pub.content.toString('utf8')]);
    assert.deepEqual(out.results, [{ ok: buildProtocolV2(ADD).body }, { ok: buildProtocolV2(ADD).body }]);
  });

  test('a key that is not RSA, or does not match the certificate, is refused', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    assert.throws(() => signBody('[]', { keyPem: ec.toString(), certPem }), /RSA/);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    assert.throws(() => signBody('[]', { keyPem: other.toString(), certPem }), /does not match/);
    assert.throws(() => signBody('[]', { keyPem, certPem: 'nope' }), /certPem/);
  });
});
