/**
 * The Celery transport's settings from the environment (documented in .env.example and
 * docs/transports.md). Every problem names the variable and what to write instead.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { z } from 'zod';
import { connectionUrl, shownEnvValue } from '../../config.ts';
import { parseRoutes, type Route } from '../routes.ts';
import { TransportConfigError } from '../transport.ts';
import { type SigningKeys, signBody } from './signing.ts';

export interface CelerySettings {
  brokerUrl: string;
  broker: 'redis' | 'amqp';
  /** The Redis result backend, or null: runs are then tracked by their run lease alone. */
  resultBackend: string | null;
  routes: Route[];
  defaultQueue: string;
  /** The workers' `broker_transport_options={'global_keyprefix': ...}` (Redis broker keys only). */
  globalKeyprefix: string;
  signing: SigningKeys | null;
  /** RabbitMQ: check that each queue exists (`passive`) or declare it like Celery does (`declare`). */
  amqpQueues: 'passive' | 'declare';
  /** RabbitMQ, `declare` only: the workers' `task_queue_max_priority` (→ `x-max-priority`). */
  amqpMaxPriority: number | null;
  /** `metronome@<hostname>`: the `origin` header. */
  origin: string;
}

const blank = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const schema = z.object({
  BROKER_URL: z.preprocess(
    blank,
    z
      .string({ error: 'is required for the celery transport (e.g. redis://127.0.0.1:6379/0)' })
      .pipe(
        connectionUrl(/^(rediss?|amqps?):\/\//, 'must start with redis://, rediss://, amqp:// or amqps://'),
      ),
  ),
  RESULT_BACKEND: z.preprocess(
    blank,
    connectionUrl(
      /^rediss?:\/\//,
      'must be a Redis URL (redis:// or rediss://), the only result backend Metronome reads; leave it unset to track runs by their run lease alone',
    ).optional(),
  ),
  METRONOME_TASK_ROUTES: z.preprocess(blank, z.string().optional()),
  METRONOME_DEFAULT_QUEUE: z.preprocess(blank, z.string().default('celery')),
  CELERY_GLOBAL_KEYPREFIX: z.preprocess(blank, z.string().default('')),
  METRONOME_CELERY_SIGNING_KEY: z.preprocess(blank, z.string().optional()),
  METRONOME_CELERY_SIGNING_CERT: z.preprocess(blank, z.string().optional()),
  METRONOME_CELERY_SIGNING_DIGEST: z.preprocess(blank, z.string().default('sha256')),
  METRONOME_AMQP_QUEUES: z.preprocess(
    blank,
    z.enum(['passive', 'declare'], { error: 'must be passive or declare' }).default('passive'),
  ),
  METRONOME_AMQP_MAX_PRIORITY: z.preprocess(
    blank,
    z.coerce
      .number({ error: 'must be an integer from 1 to 255' })
      .int('must be an integer from 1 to 255')
      .min(1, 'must be an integer from 1 to 255')
      .max(255, 'must be an integer from 1 to 255')
      .optional(),
  ),
});

function fail(key: string, value: string | undefined, message: string): never {
  throw new TransportConfigError(
    `invalid configuration: ${key}=${shownEnvValue(key, value)}: ${message} (see .env.example and docs/transports.md)`,
  );
}

export function loadCelerySettings(env: NodeJS.ProcessEnv): CelerySettings {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      return `${key}=${shownEnvValue(key, env[key])}: ${issue.message}`;
    });
    throw new TransportConfigError(
      `invalid configuration: ${problems.join('; ')} (see .env.example and docs/transports.md)`,
    );
  }
  const e = parsed.data;
  const broker = e.BROKER_URL.startsWith('redis') ? 'redis' : 'amqp';

  let routes: Route[] = [];
  if (e.METRONOME_TASK_ROUTES) {
    try {
      routes = parseRoutes(e.METRONOME_TASK_ROUTES);
    } catch (error) {
      fail('METRONOME_TASK_ROUTES', e.METRONOME_TASK_ROUTES, (error as Error).message);
    }
  }
  if (e.METRONOME_DEFAULT_QUEUE.trim() !== e.METRONOME_DEFAULT_QUEUE) {
    fail('METRONOME_DEFAULT_QUEUE', e.METRONOME_DEFAULT_QUEUE, 'must not start or end with spaces');
  }

  let signing: SigningKeys | null = null;
  const keyPath = e.METRONOME_CELERY_SIGNING_KEY;
  const certPath = e.METRONOME_CELERY_SIGNING_CERT;
  if (keyPath || certPath) {
    if (!keyPath)
      fail('METRONOME_CELERY_SIGNING_KEY', keyPath, 'is required when METRONOME_CELERY_SIGNING_CERT is set');
    if (!certPath)
      fail('METRONOME_CELERY_SIGNING_CERT', certPath, 'is required when METRONOME_CELERY_SIGNING_KEY is set');
    const read = (key: string, file: string) => {
      try {
        return readFileSync(file, 'utf8');
      } catch (error) {
        fail(key, file, `cannot read the file: ${(error as Error).message}`);
      }
    };
    signing = {
      keyPem: read('METRONOME_CELERY_SIGNING_KEY', keyPath),
      certPem: read('METRONOME_CELERY_SIGNING_CERT', certPath),
      digest: e.METRONOME_CELERY_SIGNING_DIGEST,
    };
    try {
      signBody('[[], {}, {}]', signing); // the key, the certificate and the digest, checked once
    } catch (error) {
      fail('METRONOME_CELERY_SIGNING_KEY', keyPath, (error as Error).message.replace(/^signBody: /, ''));
    }
  }

  if (e.METRONOME_AMQP_MAX_PRIORITY !== undefined && e.METRONOME_AMQP_QUEUES !== 'declare') {
    fail(
      'METRONOME_AMQP_MAX_PRIORITY',
      String(e.METRONOME_AMQP_MAX_PRIORITY),
      'only applies with METRONOME_AMQP_QUEUES=declare (a passive check never declares)',
    );
  }

  return {
    brokerUrl: e.BROKER_URL,
    broker,
    resultBackend: e.RESULT_BACKEND ?? null,
    routes,
    defaultQueue: e.METRONOME_DEFAULT_QUEUE,
    globalKeyprefix: e.CELERY_GLOBAL_KEYPREFIX,
    signing,
    amqpQueues: e.METRONOME_AMQP_QUEUES,
    amqpMaxPriority: e.METRONOME_AMQP_MAX_PRIORITY ?? null,
    origin: `metronome@${os.hostname()}`,
  };
}
