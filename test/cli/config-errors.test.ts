/**
 * Bad configuration is found before anything is touched: `beat` exits 2 with one line naming the
 * variable and the fix, no stack trace, and the database is left as it was (no schema created, no
 * declarations synced).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { BeatProcess, STARTUP_MS } from '../support/beat-process.ts';
import { beatChild, type RunResult } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

let pg: TestDatabase;

const NON_LOOPBACK_WARNING =
  'the HTTP endpoints (/healthz, /readyz, /metrics) listen on a non-loopback address and answer anyone who can reach it; bind them to 127.0.0.1 unless that is intended';

before(async () => {
  pg = await createTestDatabase();
});
after(async () => {
  await pg?.drop();
});

/** `beat run` as a child process, killed after 20 s (a beat that starts would run for ever). */
function beatRun(env: Record<string, string | undefined>): Promise<RunResult> {
  const base = {
    DATABASE_URL: pg.url,
    METRONOME_HTTP: 'off',
    REDIS_URL: '',
    BROKER_URL: '',
    METRONOME_TRANSPORT: '',
  };
  return beatChild(['run'], { env: { ...base, ...env }, timeoutMs: 120_000 });
}

async function assertUntouched(): Promise<void> {
  const [row] = await pg.sql<{ t: string | null }[]>`select to_regnamespace('metronome')::text as t`;
  assert.equal(row?.t ?? null, null, 'nothing was written to the database');
}

function assertOneLine(result: RunResult, expected: RegExp): void {
  assert.equal(result.code, 2, result.stderr);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${result.stderr}`);
  assert.match(lines[0] ?? '', expected);
  assert.doesNotMatch(result.stderr, /\n\s+at |TypeError|RangeError/);
}

test('METRONOME_HTTP: a port out of range, garbage, or a port in use', async () => {
  assertOneLine(await beatRun({ METRONOME_HTTP: '0.0.0.0:99999' }), /METRONOME_HTTP.*65535/);
  await assertUntouched();
  assertOneLine(await beatRun({ METRONOME_HTTP: 'garbage' }), /METRONOME_HTTP.*host:port/);
  await assertUntouched();
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    assertOneLine(await beatRun({ METRONOME_HTTP: `127.0.0.1:${port}` }), /METRONOME_HTTP.*in use/);
    await assertUntouched();
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
});

test('DATABASE_URL: malformed, or without a database name', async () => {
  assertOneLine(await beatRun({ DATABASE_URL: 'postgres://user:pa ss@[::1' }), /DATABASE_URL/);
  // (A user that does not exist: were the URL used, it would fail to connect rather than write.)
  assertOneLine(
    await beatRun({ DATABASE_URL: 'postgres://nosuchuser@127.0.0.1:5432' }),
    /DATABASE_URL.*database name/,
  );
  assertOneLine(
    await beatRun({ DATABASE_URL: 'postgres://nosuchuser@127.0.0.1:5432/' }),
    /DATABASE_URL.*database name/,
  );
});

test('METRONOME_LOCK_REDIS_URLS with a scheme that is not Redis', async () => {
  assertOneLine(
    await beatRun({ METRONOME_LOCK_REDIS_URLS: 'redis://127.0.0.1:6379,http://127.0.0.1:6380' }),
    /METRONOME_LOCK_REDIS_URLS.*redis:\/\//,
  );
  await assertUntouched();
});

test('an unknown BROKER_URL scheme is refused before connecting or migrating', async () => {
  assertOneLine(await beatRun({ BROKER_URL: 'sqs://queue.example' }), /BROKER_URL/);
  await assertUntouched();
  assertOneLine(await beatRun({ METRONOME_TRANSPORT: 'bullmq', REDIS_URL: 'http://x' }), /REDIS_URL/);
  await assertUntouched();
});

test('the alert webhook: a URL without its secret, a short secret, a scheme that is not HTTP', async () => {
  assertOneLine(
    await beatRun({ METRONOME_ALERT_WEBHOOK_URL: 'https://alerts.example.com/hook' }),
    /METRONOME_ALERT_WEBHOOK_SECRET is required with METRONOME_ALERT_WEBHOOK_URL/,
  );
  await assertUntouched();
  assertOneLine(
    await beatRun({
      METRONOME_ALERT_WEBHOOK_URL: 'https://alerts.example.com/hook',
      METRONOME_ALERT_WEBHOOK_SECRET: 'short',
    }),
    /METRONOME_ALERT_WEBHOOK_SECRET=\(hidden, 5 characters\): must be at least 16 characters/,
  );
  assertOneLine(
    await beatRun({
      METRONOME_ALERT_WEBHOOK_URL: 'ftp://alerts.example.com',
      METRONOME_ALERT_WEBHOOK_SECRET: 'x'.repeat(20),
    }),
    /METRONOME_ALERT_WEBHOOK_URL.*http:\/\/ or https:\/\//,
  );
  await assertUntouched();
});

test('binding the HTTP endpoints to a non-loopback address logs a warning', async () => {
  /** A beat listening on `bind`, until it leads; its logs. */
  const logsOf = async (bind: string) => {
    const running = new BeatProcess('beat', {
      DATABASE_URL: pg.url,
      METRONOME_HTTP: bind,
      METRONOME_SYNC_ON_START: 'false',
      REDIS_URL: '',
    });
    try {
      await running.waitForLog('leading', STARTUP_MS);
      return running.logs;
    } finally {
      await running.stop();
    }
  };
  const warning = (await logsOf('0.0.0.0:0')).find((l) => l.msg === NON_LOOPBACK_WARNING);
  assert.equal(warning?.level, 40);
  assert.equal(warning?.bind, '0.0.0.0:0');
  const loopback = await logsOf('127.0.0.1:0');
  assert.equal(
    loopback.some((l) => l.msg === NON_LOOPBACK_WARNING),
    false,
    'no warning on 127.0.0.1',
  );
});
