/** The Celery transport's settings and routing: clear errors naming the variable; task_routes semantics. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadCelerySettings } from '../../src/transports/celery/settings.ts';
import { globToRegExp, parseRoutes, resolveRoute } from '../../src/transports/routes.ts';
import { TransportConfigError } from '../../src/transports/transport.ts';

const base = { BROKER_URL: 'redis://127.0.0.1:6379/0' };

function refused(env: NodeJS.ProcessEnv, pattern: RegExp): void {
  assert.throws(
    () => loadCelerySettings(env),
    (error: unknown) => error instanceof TransportConfigError && pattern.test(error.message),
  );
}

describe('celery settings', () => {
  test('defaults', () => {
    const s = loadCelerySettings(base);
    assert.equal(s.broker, 'redis');
    assert.equal(s.defaultQueue, 'celery');
    assert.equal(s.resultBackend, null);
    assert.equal(s.globalKeyprefix, '');
    assert.equal(s.signing, null);
    assert.equal(s.amqpQueues, 'passive');
    assert.match(s.origin, /^metronome@./);
    assert.equal(loadCelerySettings({ BROKER_URL: 'amqps://u:p@h/v' }).broker, 'amqp');
  });

  test('errors name the variable, and never echo a password', () => {
    refused({}, /BROKER_URL.*required/);
    refused({ BROKER_URL: 'http://x' }, /BROKER_URL.*redis:\/\/, rediss:\/\/, amqp:\/\/ or amqps:\/\//);
    refused({ ...base, RESULT_BACKEND: 'rpc://' }, /RESULT_BACKEND.*Redis URL/);
    refused({ ...base, METRONOME_TASK_ROUTES: '{' }, /METRONOME_TASK_ROUTES.*not valid JSON/);
    refused({ ...base, METRONOME_TASK_ROUTES: '{"a.*": {"q": "x"}}' }, /METRONOME_TASK_ROUTES.*unknown key/);
    refused({ ...base, METRONOME_AMQP_QUEUES: 'maybe' }, /METRONOME_AMQP_QUEUES.*passive or declare/);
    refused(
      { ...base, METRONOME_AMQP_QUEUES: 'declare', METRONOME_AMQP_MAX_PRIORITY: '300' },
      /MAX_PRIORITY/,
    );
    refused(
      { ...base, METRONOME_AMQP_MAX_PRIORITY: '10' },
      /only applies with METRONOME_AMQP_QUEUES=declare/,
    );
    refused(
      { ...base, METRONOME_CELERY_SIGNING_CERT: '/x.pem' },
      /METRONOME_CELERY_SIGNING_KEY.*is required/,
    );
    refused(
      {
        ...base,
        METRONOME_CELERY_SIGNING_KEY: '/nope/key.pem',
        METRONOME_CELERY_SIGNING_CERT: '/nope/cert.pem',
      },
      /METRONOME_CELERY_SIGNING_KEY.*cannot read/,
    );
    assert.throws(
      () => loadCelerySettings({ BROKER_URL: 'http://user:s3cret@host' }),
      (error: unknown) => error instanceof Error && !error.message.includes('s3cret'),
    );
  });
});

describe('task routes (like Celery task_routes)', () => {
  const routes = parseRoutes(
    JSON.stringify({
      'reports.nightly': 'nightly',
      'reports.*': 'reports',
      'billing.*': { queue: 'billing', routing_key: 'billing.invoices' },
      'tasks.[ab]?': 'letters',
    }),
  );

  test('first match in declaration order; the schedule queue wins; default queue otherwise', () => {
    const none = { queue: null, routingKey: null };
    assert.deepEqual(resolveRoute('reports.nightly', none, routes, 'celery'), {
      queue: 'nightly',
      routingKey: null,
    });
    assert.deepEqual(resolveRoute('reports.weekly.pdf', none, routes, 'celery'), {
      queue: 'reports',
      routingKey: null,
    });
    assert.deepEqual(resolveRoute('billing.run', none, routes, 'celery'), {
      queue: 'billing',
      routingKey: 'billing.invoices',
    });
    assert.equal(resolveRoute('tasks.a1', none, routes, 'celery').queue, 'letters');
    assert.equal(resolveRoute('tasks.c1', none, routes, 'celery').queue, 'celery');
    assert.equal(
      resolveRoute('reports.x', { queue: 'mine', routingKey: null }, routes, 'celery').queue,
      'mine',
    );
    assert.equal(resolveRoute('other', none, routes, 'default-q').queue, 'default-q');
  });

  test('fnmatch globs: * spans dots, ? is one character, [!x] negates, the rest is literal', () => {
    assert.ok(globToRegExp('a.*').test('a.b.c'));
    assert.ok(!globToRegExp('a.*').test('ab'));
    assert.ok(globToRegExp('a?c').test('abc'));
    assert.ok(globToRegExp('[!x]y').test('zy'));
    assert.ok(!globToRegExp('[!x]y').test('xy'));
    assert.ok(globToRegExp('a+(b)').test('a+(b)'));
  });
});
