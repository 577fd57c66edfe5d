/**
 * Who may read, decided once (METRONOME_API_READS) and applied to every route: a beat bound to a
 * non-loopback address serves the dashboard and the API (every schedule's arguments, the audit
 * log) only with the token, unless reads are explicitly opened; the probes and /metrics stay open.
 * A real `beat run`, as deployed.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { BeatProcess, eventually } from '../support/beat-process.ts';
import { call } from '../support/http.ts';
import { createMigratedDatabase } from '../support/migrated.ts';
import type { TestDatabase } from '../support/pg.ts';

const TOKEN = 'read-access-token-0123456789';
let pg: TestDatabase;
before(async () => {
  pg = await createMigratedDatabase();
});
after(async () => {
  await pg?.drop();
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function withBeat(
  env: Record<string, string>,
  check: (base: string, beat: BeatProcess) => Promise<void>,
) {
  const port = await freePort();
  const beat = new BeatProcess('reads', {
    DATABASE_URL: pg.url,
    METRONOME_HTTP: `0.0.0.0:${port}`,
    METRONOME_API_TOKEN: TOKEN,
    METRONOME_API_READS: '',
    REDIS_URL: '',
    BROKER_URL: '',
    METRONOME_TRANSPORT: 'log',
    ...env,
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    // The dashboard is mounted once the database is open (the probes answer before).
    await eventually('the dashboard to be mounted', 30_000, async () => {
      const reply = await call(base, 'GET', '/api/v1/schedules').catch(() => null);
      return reply !== null && reply.status !== 404;
    });
    await check(base, beat);
  } finally {
    await beat.stop();
  }
}

const READS = ['/api/v1/schedules', '/api/v1/actions', '/api/v1/now', '/', '/now'];

test('on a non-loopback bind, reads need the token by default; probes and metrics stay open', async () => {
  await withBeat({}, async (base, beat) => {
    for (const path of READS) {
      const reply = await call(base, 'GET', path);
      assert.equal(reply.status, 401, `${path} answered without the token: ${reply.status}`);
      assert.match(String(reply.headers['www-authenticate']), /Basic/, `${path}: a browser is asked`);
      const bearer = await call(base, 'GET', path, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(bearer.status, 200, `${path} with the Bearer token: ${bearer.status}`);
      const basic = Buffer.from(`alice:${TOKEN}`).toString('base64');
      const browser = await call(base, 'GET', path, { headers: { authorization: `Basic ${basic}` } });
      assert.equal(browser.status, 200, `${path} with the token as a Basic password: ${browser.status}`);
      const wrong = await call(base, 'GET', path, {
        headers: { authorization: 'Bearer not-the-token-at-all' },
      });
      assert.equal(wrong.status, 401, `${path} with a wrong token`);
    }
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const reply = await call(base, 'GET', path);
      assert.notEqual(reply.status, 401, `${path} must stay open`);
      assert.notEqual(reply.status, 403, `${path} must stay open`);
    }
    assert.ok(
      beat.logs.some((l) => /reads need METRONOME_API_TOKEN/.test(String(l.msg))),
      'the start-up log says reads need the token',
    );
  });
});

test('METRONOME_API_READS=open serves reads to anyone, and says so at warn', async () => {
  await withBeat({ METRONOME_API_READS: 'open' }, async (base, beat) => {
    for (const path of READS) {
      const reply = await call(base, 'GET', path);
      assert.equal(reply.status, 200, `${path}: ${reply.status}`);
    }
    assert.ok(
      beat.logs.some((l) => l.level === 40 && /every schedule's arguments/.test(String(l.msg))),
      'an open non-loopback bind is warned about, naming what it serves',
    );
  });
});
