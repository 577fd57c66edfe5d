/**
 * No URL variable's password is ever printed, and every mistake in one is one line (exit 2, no
 * stack trace): a missing `:` after the scheme, a `%ZZ` the driver cannot decode, a scheme that is
 * not the right one — for every URL key the beat reads.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { beatChild, type RunResult } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

let pg: TestDatabase;
before(async () => {
  pg = await createTestDatabase();
});
after(async () => {
  await pg?.drop();
});

const SECRET = 'Sup3rSecretPw';

function beatRun(env: Record<string, string>): Promise<RunResult> {
  const base = {
    DATABASE_URL: pg.url,
    METRONOME_HTTP: 'off',
    REDIS_URL: '',
    BROKER_URL: '',
    RESULT_BACKEND: '',
    METRONOME_TRANSPORT: '',
    METRONOME_LOCK_REDIS_URLS: '',
    METRONOME_BULLMQ_URL: '',
  };
  return beatChild(['run'], { env: { ...base, ...env }, timeoutMs: 20_000 });
}

/** Wrong values holding the password, for a URL whose scheme is `scheme`. */
const mistakes = (scheme: string, path: string) => [
  `${scheme}//app:${SECRET}@db.example:1234${path}`,
  `${scheme}:/app:${SECRET}@db.example:1234${path}`,
  `${scheme}://app:${SECRET.slice(0, 5)}%ZZ${SECRET.slice(5)}@db.example:1234${path}`,
  `${scheme}://app:${SECRET}@db.exa mple:1234${path}`,
  `http://app:${SECRET}@db.example:1234${path}`,
];

const KEYS: Array<{ key: string; scheme: string; path: string; extra?: Record<string, string> }> = [
  { key: 'DATABASE_URL', scheme: 'postgres', path: '/app' },
  { key: 'REDIS_URL', scheme: 'redis', path: '/0' },
  { key: 'METRONOME_LOCK_REDIS_URLS', scheme: 'redis', path: '/0' },
  { key: 'BROKER_URL', scheme: 'amqp', path: '/vhost', extra: { METRONOME_TRANSPORT: 'celery' } },
  {
    key: 'RESULT_BACKEND',
    scheme: 'redis',
    path: '/1',
    extra: { METRONOME_TRANSPORT: 'celery', BROKER_URL: 'redis://127.0.0.1:6379/0' },
  },
  { key: 'METRONOME_BULLMQ_URL', scheme: 'redis', path: '/0', extra: { METRONOME_TRANSPORT: 'bullmq' } },
];

for (const { key, scheme, path, extra } of KEYS) {
  test(`${key}: a malformed URL is one line naming ${key}, never its password`, async () => {
    for (const value of mistakes(scheme, path)) {
      const result = await beatRun({ ...extra, [key]: value });
      const shown = `${key}=${value}: exit ${result.code}\n${result.stderr}`;
      assert.equal(result.code, 2, shown);
      assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${shown}`);
      assert.match(result.stderr, new RegExp(key), shown);
      assert.ok(!result.stderr.includes(SECRET.slice(0, 5)), `the password was printed: ${shown}`);
      assert.ok(!result.stderr.includes(SECRET.slice(5)), `the password was printed: ${shown}`);
      assert.doesNotMatch(result.stderr, /\n\s+at |URIError|TypeError/, shown);
    }
  });
}
