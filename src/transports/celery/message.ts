/**
 * Celery task messages (protocol v2), built without I/O: the headers, properties and body a real
 * `apply_async` sends, the exact envelope kombu's Redis transport stores, and the arguments for an
 * amqplib `publish`. The wire format and its traps are in
 * docs/celery-protocol.md.
 *
 * JSON is written in Python's `json.dumps` format (`", "` / `": "` separators, ASCII only), so what we
 * store is byte for byte what Python stores for the same message.
 */
import { randomUUID } from 'node:crypto';
import { CELERY_PROTOCOL_HEADERS, SCHEDULER_HEADERS } from '../../model/headers.ts';
import {
  ExactNumber,
  isPlainObject,
  type JsonPrimitive,
  type JsonValue,
  NotJsonError,
  pythonJsonDumps,
  pythonJsonString,
} from './json.ts';
import { formatPythonDate } from './python-date.ts';
import { argsRepr, kwargsRepr } from './python-repr.ts';
import { type SigningKeys, signBody } from './signing.ts';

export type { JsonObject, JsonValue } from './json.ts';
export { formatPythonDate } from './python-date.ts';
export { argsRepr, kwargsRepr, pythonRepr } from './python-repr.ts';
export { certificateSignerId, type SignedBody, type SigningKeys, signBody } from './signing.ts';

/** One task to enqueue. Times are epoch milliseconds, time limits seconds. */
export interface CeleryTaskMessage {
  /** The task id (a UUID string); also the correlation id and the root id. */
  taskId: string;
  /** The registered task name, e.g. `reports.nightly`. */
  task: string;
  args: JsonValue[];
  kwargs: Record<string, JsonValue>;
  /** The queue (on Redis, the list name). */
  queue: string;
  /** Defaults to the queue name. On Redis with the default exchange it must equal the queue. */
  routingKey?: string;
  /** Defaults to `''`, the default exchange. */
  exchange?: string;
  /**
   * Celery's own message priority, passed through unchanged (clamped to the broker's range). Workers read
   * it per broker: on Redis a LOWER number is served first (0–9, four lists), on RabbitMQ a HIGHER one
   * (0–255, and only on queues declared with `x-max-priority`). Unset means 0, as Python sends.
   */
  priority?: number | null;
  /** When the task expires (the `expires` header); the worker then records REVOKED without running it. */
  expiresAt?: number | null;
  /** Hard time limit in seconds (`timelimit[0]`). */
  timeLimit?: number | null;
  /** Soft time limit in seconds (`timelimit[1]`). */
  softTimeLimit?: number | null;
  /** Custom headers; they reach the task's `self.request`. Protocol header names are refused. */
  headers?: Record<string, JsonValue>;
  /** `<name>@<hostname>`, e.g. `metronome@host`. */
  origin: string;
  /** The `periodic_task_name` header, as django-celery-beat sends it. */
  periodicTaskName?: string;
  /** The occurrence's scheduled time: the `scheduled_for` header, in Python's date format. */
  scheduledFor?: number;
}

/** A bad {@link CeleryTaskMessage}; `field` names the field at fault. */
export class CeleryMessageError extends Error {
  override readonly name = 'CeleryMessageError';
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`Celery message: ${field} ${reason}`);
  }
}

/** The headers Celery's `apply_async` sends, in its order (one list, the model's). */
export const PROTOCOL_HEADER_KEYS = CELERY_PROTOCOL_HEADERS;

/** Header names the scheduler itself sets after the custom headers. */
export const SCHEDULER_HEADER_KEYS = SCHEDULER_HEADERS;

// The same names the model refuses (src/model/headers.ts): a row that passed it never fails here.
const RESERVED_HEADERS: ReadonlySet<string> = new Set([...PROTOCOL_HEADER_KEYS, ...SCHEDULER_HEADER_KEYS]);

/** The fourth body element: always these four keys, all null. */
const EMBED_JSON = '{"callbacks": null, "errbacks": null, "chain": null, "chord": null}';

export interface ProtocolV2Message {
  /** All headers, in the order they are written (protocol keys, custom, then the scheduler's). */
  headers: Record<string, JsonValue>;
  /**
   * The same headers as ordered entries. A JavaScript object lists integer-like keys first whatever the
   * insertion order; the entries keep the real order for the byte-exact Redis envelope.
   */
  headerEntries: [string, JsonValue][];
  properties: { correlation_id: string; reply_to: string };
  /** The body JSON: `[args, kwargs, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]`. */
  body: string;
}

function nonEmptyString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new CeleryMessageError(field, `must be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

function optionalNumber(value: unknown, field: string, check?: (n: number) => string | null): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new CeleryMessageError(field, `must be a finite number or null, got ${describe(value)}`);
  }
  const problem = check?.(value);
  if (problem) throw new CeleryMessageError(field, problem);
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return `a ${(value as object).constructor?.name ?? 'object'}`;
  return `${typeof value} ${String(value)}`;
}

function json(value: unknown, field: string): string {
  try {
    return pythonJsonDumps(value, field);
  } catch (err) {
    if (err instanceof NotJsonError) throw new CeleryMessageError(err.path, err.reason);
    throw err;
  }
}

/** Builds the protocol v2 headers, properties and body for one task, validating the input. */
export function buildProtocolV2(msg: CeleryTaskMessage): ProtocolV2Message {
  if (msg === null || typeof msg !== 'object') throw new CeleryMessageError('message', 'must be an object');
  const taskId = nonEmptyString(msg.taskId, 'taskId');
  const task = nonEmptyString(msg.task, 'task');
  nonEmptyString(msg.queue, 'queue');
  const origin = nonEmptyString(msg.origin, 'origin');
  if (!Array.isArray(msg.args)) {
    throw new CeleryMessageError(
      'args',
      `must be an array (the positional arguments), got ${describe(msg.args)}`,
    );
  }
  if (!isPlainObject(msg.kwargs)) {
    throw new CeleryMessageError(
      'kwargs',
      `must be a plain object (the keyword arguments), got ${describe(msg.kwargs)}; a worker drops a message whose kwargs are not a mapping`,
    );
  }
  const positiveSeconds = (n: number) => (n > 0 ? null : `must be a positive number of seconds, got ${n}`);
  const timeLimit = optionalNumber(msg.timeLimit, 'timeLimit', positiveSeconds);
  const softTimeLimit = optionalNumber(msg.softTimeLimit, 'softTimeLimit', positiveSeconds);
  const expiresAt = optionalNumber(msg.expiresAt, 'expiresAt');
  if (msg.periodicTaskName !== undefined && typeof msg.periodicTaskName !== 'string') {
    throw new CeleryMessageError(
      'periodicTaskName',
      `must be a string, got ${describe(msg.periodicTaskName)}`,
    );
  }
  const scheduledFor = optionalNumber(msg.scheduledFor, 'scheduledFor');

  const body = `[${json(msg.args, 'args')}, ${json(msg.kwargs, 'kwargs')}, ${EMBED_JSON}]`;

  const entries: [string, JsonValue][] = [
    ['lang', 'py'],
    ['task', task],
    ['id', taskId],
    ['shadow', null],
    // We enqueue at the due time, never ahead of it: long ETAs run twice on Redis and break on RabbitMQ.
    ['eta', null],
    ['expires', expiresAt === null ? null : formatPythonDate(expiresAt)],
    ['group', null],
    ['group_index', null],
    ['retries', 0],
    // Hard first, then soft: what the worker reads, whatever Celery's docs say.
    ['timelimit', [timeLimit, softTimeLimit]],
    ['root_id', taskId],
    ['parent_id', null],
    ['argsrepr', argsRepr(msg.args)],
    ['kwargsrepr', kwargsRepr(msg.kwargs)],
    ['origin', origin],
    ['ignore_result', false],
  ];

  if (msg.headers !== undefined && msg.headers !== null) {
    if (!isPlainObject(msg.headers)) {
      throw new CeleryMessageError('headers', `must be a plain object, got ${describe(msg.headers)}`);
    }
    for (const [name, value] of Object.entries(msg.headers)) {
      if (RESERVED_HEADERS.has(name)) {
        throw new CeleryMessageError(
          `headers.${name}`,
          `collides with the header "${name}" that the scheduler sets itself; rename the custom header`,
        );
      }
      json(value, `headers.${name}`);
      entries.push([name, value]);
    }
  }
  if (msg.periodicTaskName !== undefined) entries.push(['periodic_task_name', msg.periodicTaskName]);
  if (scheduledFor !== null) entries.push(['scheduled_for', formatPythonDate(scheduledFor)]);

  return {
    // Built when read (the AMQP publish does; the Redis envelope writes the entries).
    get headers() {
      return Object.fromEntries(entries);
    },
    headerEntries: entries,
    properties: { correlation_id: taskId, reply_to: '' },
    body,
  };
}

// ---------------------------------------------------------------------------------------------------
// Priority
// ---------------------------------------------------------------------------------------------------

function clampPriority(p: number | null | undefined, max: number): number {
  if (p === undefined || p === null) return 0;
  if (typeof p !== 'number' || !Number.isFinite(p)) {
    throw new CeleryMessageError('priority', `must be a finite number or null, got ${describe(p)}`);
  }
  return Math.min(max, Math.max(0, Math.trunc(p))); // Math.trunc: kombu does int(priority)
}

/**
 * The priority property for Redis: Celery's priority clamped to 0–9, as kombu does. On Redis a lower
 * number is served first. The schedule's priority is Celery's own value, not re-mapped.
 */
export function celeryPriorityForRedis(p: number | null | undefined): number {
  return clampPriority(p, 9);
}

/**
 * The priority property for RabbitMQ: Celery's priority clamped to an AMQP octet (0–255). There a higher
 * number is served first, and only on a queue declared with `x-max-priority`.
 */
export function celeryPriorityForAmqp(p: number | null | undefined): number {
  return clampPriority(p, 255);
}

// ---------------------------------------------------------------------------------------------------
// Redis (kombu's Redis transport)
// ---------------------------------------------------------------------------------------------------

/** kombu's Redis key separator: the bytes 0x06 0x16. */
const REDIS_SEP = '\x06\x16';
/** kombu's `priority_steps`. */
const REDIS_PRIORITY_STEPS = [0, 3, 6, 9] as const;

/**
 * The list a message of this priority goes to: the queue itself for 0–2, else `<queue>\x06\x16<step>`
 * with the step 3, 6 or 9. `globalKeyprefix` is the workers' `broker_transport_options.global_keyprefix`.
 */
export function redisQueueKey(
  queue: string,
  priority: number | null | undefined,
  globalKeyprefix = '',
): string {
  const p = celeryPriorityForRedis(priority);
  let step = 0;
  for (const s of REDIS_PRIORITY_STEPS) if (s <= p) step = s;
  return step === 0 ? `${globalKeyprefix}${queue}` : `${globalKeyprefix}${queue}${REDIS_SEP}${step}`;
}

/**
 * The set kombu records the queue's binding in. kombu names it after the exchange; Celery's queues are
 * bound to an exchange of the queue's own name, so this is `_kombu.binding.<queue>`.
 */
export function redisBindingKey(queue: string, globalKeyprefix = ''): string {
  return `${globalKeyprefix}_kombu.binding.${queue}`;
}

/** The member of {@link redisBindingKey}: routing key, pattern (empty) and queue joined by 0x06 0x16. */
export function redisBindingMember(queue: string): string {
  return `${queue}${REDIS_SEP}${REDIS_SEP}${queue}`;
}

export interface RedisEnvelopeOptions {
  /** The `delivery_tag` (the worker's key in `unacked`); a fresh random UUID by default. */
  deliveryTag?: string;
  /** The `reply_to` property; Python puts its app's oid there, only RPC result backends read it. */
  replyTo?: string;
  /** The clock for the `expiration` property (ms); `Date.now()` by default. */
  now?: number;
  /** Sign the body for workers using Celery's `auth` serializer. */
  signing?: SigningKeys;
}

function orderedObject(entries: [string, string][]): string {
  let out = '{';
  for (let i = 0; i < entries.length; i++) {
    const [k, v] = entries[i] as [string, string];
    out += `${i === 0 ? '' : ', '}${pythonJsonString(k)}: ${v}`;
  }
  return `${out}}`;
}

/** The headers object as Python writes it, in their order (one string, no intermediate arrays). */
function headersJson(entries: [string, JsonValue][]): string {
  let out = '{';
  for (let i = 0; i < entries.length; i++) {
    const [k, v] = entries[i] as [string, JsonValue];
    out += `${i === 0 ? '' : ', '}${pythonJsonString(k)}: ${pythonJsonDumps(v)}`;
  }
  return `${out}}`;
}

function redisRoute(msg: CeleryTaskMessage): { exchange: string; routingKey: string } {
  const exchange = msg.exchange ?? '';
  const routingKey = msg.routingKey ?? msg.queue;
  if (typeof exchange !== 'string')
    throw new CeleryMessageError('exchange', `must be a string, got ${describe(exchange)}`);
  if (typeof routingKey !== 'string') {
    throw new CeleryMessageError('routingKey', `must be a string, got ${describe(routingKey)}`);
  }
  if (exchange === '' && routingKey !== msg.queue) {
    // kombu re-queues an unacknowledged message (worker lost, visibility timeout) to the list named by
    // delivery_info.routing_key when the exchange is the default one.
    throw new CeleryMessageError(
      'routingKey',
      `"${routingKey}" differs from the queue "${msg.queue}": on Redis with the default exchange a redelivered message would go to the list "${routingKey}"`,
    );
  }
  return { exchange, routingKey };
}

/** The exact JSON string kombu's Redis transport LPUSHes for this message. */
export function encodeRedisEnvelope(msg: CeleryTaskMessage, options: RedisEnvelopeOptions = {}): string {
  return finishRedisEnvelope(prepareRedisEnvelope(msg, options), options);
}

/**
 * A Redis envelope encoded up to what only the send can tell: the `expiration` (its TTL counts from
 * the send) and the `delivery_tag` (fresh per send). Encoded ahead of the instant (claim ahead:
 * docs/runtime.md), only those two are left for the send; the bytes are those encodeRedisEnvelope
 * writes. Throws CeleryMessageError for a bad message, as the send would.
 */
export interface PreparedRedisEnvelope {
  /** `{"body": ..., ..., "properties": {"correlation_id": ..., "reply_to": ..., "delivery_mode": 2` */
  readonly head: string;
  readonly expiresAt: number | null;
  /** `, "delivery_info": {...}, "priority": N, "body_encoding": "base64", "delivery_tag": ` */
  readonly tail: string;
}

export function prepareRedisEnvelope(
  msg: CeleryTaskMessage,
  options: Pick<RedisEnvelopeOptions, 'replyTo' | 'signing'> = {},
): PreparedRedisEnvelope {
  const v2 = buildProtocolV2(msg);
  const { exchange, routingKey } = redisRoute(msg);
  const priority = celeryPriorityForRedis(msg.priority);
  let contentType = 'application/json';
  let contentEncoding = 'utf-8';
  let body = v2.body;
  if (options.signing) {
    const signed = signBody(v2.body, options.signing);
    ({ body, contentType, contentEncoding } = signed);
  }
  const s = pythonJsonString;
  const top = orderedObject([
    ['body', s(Buffer.from(body, 'utf8').toString('base64'))],
    ['content-encoding', s(contentEncoding)],
    ['content-type', s(contentType)],
    ['headers', headersJson(v2.headerEntries)],
  ]);
  const properties = orderedObject([
    ['correlation_id', s(v2.properties.correlation_id)],
    ['reply_to', s(options.replyTo ?? v2.properties.reply_to)],
    ['delivery_mode', '2'],
  ]);
  const deliveryInfo = orderedObject([
    ['exchange', s(exchange)],
    ['routing_key', s(routingKey)],
  ]);
  return {
    // Both objects written whole, then opened again: `{a, b}` → `{a, b, "properties": {c, d`.
    head: `${top.slice(0, -1)}, ${s('properties')}: ${properties.slice(0, -1)}`,
    expiresAt: msg.expiresAt ?? null,
    tail: `, ${s('delivery_info')}: ${deliveryInfo}, ${s('priority')}: ${priority}, ${s('body_encoding')}: ${s('base64')}, ${s('delivery_tag')}: `,
  };
}

/** The envelope to push now: a prepared one with its expiration and delivery tag. */
export function finishRedisEnvelope(
  prepared: PreparedRedisEnvelope,
  options: Pick<RedisEnvelopeOptions, 'deliveryTag' | 'now'> = {},
): string {
  const s = pythonJsonString;
  // kombu: str(int(expires_in_seconds * 1000)), relative to the send time, never negative.
  const expiration =
    prepared.expiresAt === null
      ? ''
      : `, ${s('expiration')}: ${s(String(Math.max(0, Math.trunc(prepared.expiresAt - (options.now ?? Date.now())))))}`;
  return `${prepared.head}${expiration}${prepared.tail}${s(options.deliveryTag ?? randomUUID())}}}`;
}

export interface RedisPush {
  /** The list to LPUSH to. */
  listKey: string;
  /** The envelope to push (also what `LPOS` finds while it is queued). */
  envelope: string;
  /** The worker's key in the `unacked` hash while it holds the message. */
  deliveryTag: string;
  /** `SADD bindingKey bindingMember`, as Python does: harmless, not needed for delivery. */
  bindingKey: string;
  bindingMember: string;
}

/** Everything a Redis transport needs to enqueue one message. */
export function redisPush(
  msg: CeleryTaskMessage,
  options: RedisEnvelopeOptions & { globalKeyprefix?: string; prepared?: PreparedRedisEnvelope } = {},
): RedisPush {
  const deliveryTag = options.deliveryTag ?? randomUUID();
  const envelope = finishRedisEnvelope(options.prepared ?? prepareRedisEnvelope(msg, options), {
    ...options,
    deliveryTag,
  });
  const prefix = options.globalKeyprefix ?? '';
  return {
    listKey: redisQueueKey(msg.queue, msg.priority, prefix),
    envelope,
    deliveryTag,
    bindingKey: redisBindingKey(msg.queue, prefix),
    bindingMember: redisBindingMember(msg.queue),
  };
}

// ---------------------------------------------------------------------------------------------------
// RabbitMQ (amqplib)
// ---------------------------------------------------------------------------------------------------

export interface AmqpPublishArgs {
  exchange: string;
  routingKey: string;
  /** The raw body JSON (no envelope, no base64), or the signed payload when signing. */
  content: Buffer;
  options: {
    contentType: string;
    contentEncoding: string;
    headers: { [key: string]: AmqpValue };
    deliveryMode: 2;
    priority: number;
    correlationId: string;
    replyTo?: string;
  };
}

/** An AMQP field value amqplib writes with the given type (its `{'!': type, value}` form). */
export type AmqpTyped = { '!': 'int32' | 'int64' | 'double'; value: string | number };
type AmqpValue = JsonPrimitive | AmqpTyped | AmqpValue[] | { [key: string]: AmqpValue };

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Headers as AMQP field values, typed so that the worker's py-amqp decodes exactly the number
 * given. amqplib guesses a type from a JavaScript number, and py-amqp reads some of its guesses
 * otherwise (its `b` as unsigned, so -5 arrives as 251; its `s` as a short string, so 1000 arrives
 * as bytes). So: an integer as a signed 32-bit `I` (what Python's own Celery sends), a larger
 * positive one as a 64-bit `l`, anything else as a double (a Python float: `1.0` stays a float).
 * Numbers kept exact from the database (src/model/json.ts) are typed by their text. An integer no
 * AMQP type carries to Python (beyond 2^63, or below -2^31) is refused, naming the header.
 */
export function amqpHeaders(
  headers: Record<string, JsonValue>,
  path = 'headers',
): { [key: string]: AmqpValue } {
  const out: { [key: string]: AmqpValue } = {};
  for (const [key, value] of Object.entries(headers)) out[key] = amqpValue(value, `${path}.${key}`);
  return out;
}

function amqpValue(value: JsonValue, path: string): AmqpValue {
  if (value instanceof ExactNumber) return amqpNumber(value.text, !value.isInteger, path);
  if (typeof value === 'number') return amqpNumber(String(value), !Number.isSafeInteger(value), path);
  if (Array.isArray(value)) return value.map((item, i) => amqpValue(item, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') return amqpHeaders(value, path);
  return value;
}

function amqpNumber(text: string, float: boolean, path: string): AmqpTyped {
  if (float) return { '!': 'double', value: Number(text) };
  const n = BigInt(text);
  if (n >= INT32_MIN && n <= INT32_MAX) return { '!': 'int32', value: Number(n) };
  if (n > INT32_MAX && n <= INT64_MAX) return { '!': 'int64', value: text };
  throw new CeleryMessageError(
    path,
    `is the integer ${text}, which no AMQP header type carries to a Celery worker exactly (from -2^31 to 2^63-1 only): pass it as a string, or in kwargs`,
  );
}

/**
 * Arguments for amqplib's `channel.publish(exchange, routingKey, content, options)`. No `expiration`:
 * on RabbitMQ that is a real TTL and an expired message with no consumer vanishes without a result; the
 * `expires` header alone makes the worker record REVOKED.
 */
export function amqpPublishArgs(
  msg: CeleryTaskMessage,
  options: { replyTo?: string; signing?: SigningKeys } = {},
): AmqpPublishArgs {
  const v2 = buildProtocolV2(msg);
  const exchange = msg.exchange ?? '';
  const routingKey = msg.routingKey ?? msg.queue;
  if (typeof exchange !== 'string')
    throw new CeleryMessageError('exchange', `must be a string, got ${describe(exchange)}`);
  if (typeof routingKey !== 'string') {
    throw new CeleryMessageError('routingKey', `must be a string, got ${describe(routingKey)}`);
  }
  let content = Buffer.from(v2.body, 'utf8');
  let contentType = 'application/json';
  let contentEncoding = 'utf-8';
  if (options.signing) {
    const signed = signBody(v2.body, options.signing);
    content = Buffer.from(signed.body, 'utf8');
    contentType = signed.contentType;
    contentEncoding = signed.contentEncoding;
  }
  return {
    exchange,
    routingKey,
    content,
    options: {
      contentType,
      contentEncoding,
      headers: amqpHeaders(v2.headers),
      deliveryMode: 2,
      priority: celeryPriorityForAmqp(msg.priority),
      correlationId: v2.properties.correlation_id,
      ...(options.replyTo ? { replyTo: options.replyTo } : {}),
    },
  };
}
