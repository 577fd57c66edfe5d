/**
 * The HTTP surface as an attacker meets it: a NUL byte in any name or query parameter on every
 * route is a 400 with a code and nothing at error level; Host is checked on every route, probes
 * included; `HEAD /api/v1/events` answers without taking a live-update slot and one client cannot
 * take all of them; the server's header, request, idle and connection limits are set; an actor
 * name outside Latin-1 is stored as sent.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { BeatMetrics } from '../../src/beat/metrics.ts';
import { createDashboard, type Dashboard } from '../../src/http/app.ts';
import { startHttpServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/logger.ts';
import { call, type Reply } from '../support/http.ts';
import { migratedDatabasePerFile } from '../support/migrated.ts';

const TOKEN = 'surface-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const logged: Array<{ level: number; msg: string }> = [];
const sink = new Writable({
  write(chunk, _encoding, done) {
    for (const line of String(chunk).split('\n').filter(Boolean)) logged.push(JSON.parse(line));
    done();
  },
});
const log = createLogger({ level: 'debug', destination: sink });

let dashboard: Dashboard;
let server: Server;
let base: string;

const file = migratedDatabasePerFile(
  async (db, database) => {
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by)
                 values ('surface.tick', 't', 'interval', 60000, 'db')`;
    dashboard = createDashboard({
      database,
      locks: null,
      group: 'default',
      token: TOKEN,
      bind: '127.0.0.1:0',
      log,
    });
    const started = await startHttpServer({
      bind: '127.0.0.1:0',
      metrics: new BeatMetrics({ processMetrics: false }),
      readiness: () => ({ ready: true, role: 'standby' as const, reasons: [] }),
      routes: dashboard.handle,
    });
    server = started.server;
    base = started.url;
  },
  async () => {
    await dashboard?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  },
);

async function refused(reply: Reply, status: number, what: string): Promise<void> {
  assert.equal(reply.status, status, `${what}: ${status} expected, got ${reply.status}: ${reply.text}`);
  if (reply.headers['content-type']?.toString().includes('json')) {
    const body = reply.json();
    assert.equal(typeof body.error.code, 'string', `${what}: a code`);
  }
}

const NAMED = [
  '/api/v1/schedules/NAME',
  '/api/v1/schedules/NAME/occurrences',
  '/api/v1/schedules/NAME/timeline',
  '/schedules/NAME',
];
const QUERIES = [
  '/api/v1/schedules?q=V',
  '/api/v1/schedules?task=V',
  '/api/v1/schedules?queue=V',
  '/api/v1/schedules?state=V',
  '/api/v1/schedules?V=1',
  '/api/v1/schedules/surface.tick/occurrences?status=V',
  '/api/v1/schedules/surface.tick/occurrences?before=V',
  '/api/v1/actions?schedule=V',
  '/api/v1/now?V',
  '/api/v1/next-24h?hours=V',
  '/?q=V',
  '/?task=V',
  '/schedules/surface.tick?before=V',
  '/now?x=V',
  '/next-24h?x=V',
  '/healthz?x=V',
  '/readyz?x=V',
  '/metrics?x=V',
];

test('a NUL byte in any name or query parameter, on every route, is a 400 with a code and no error log', async () => {
  logged.length = 0;
  for (const nul of ['%00', 'a%00b']) {
    for (const path of NAMED) {
      await refused(await call(base, 'GET', path.replace('NAME', nul)), 400, path);
    }
    for (const path of QUERIES) {
      await refused(await call(base, 'GET', path.replace('V', nul)), 400, path);
    }
    for (const action of ['pause', 'resume', 'trigger', 'enable', 'disable']) {
      const path = `/api/v1/schedules/${nul}/${action}`;
      await refused(await call(base, 'POST', path, { headers: auth, body: '{}' }), 400, path);
    }
  }
  const loud = logged.filter((l) => l.level >= 50);
  assert.deepEqual(loud, [], 'nothing is logged at error level for a NUL byte');
});

test('Host is checked on every route on a loopback bind: probes and metrics too', async () => {
  for (const path of ['/healthz', '/readyz', '/metrics', '/api/v1/schedules', '/', '/nope']) {
    const reply = await call(base, 'GET', path, { headers: { host: 'evil.example:80' } });
    assert.equal(reply.status, 403, `${path} answered a foreign Host: ${reply.status} ${reply.text}`);
  }
  assert.equal((await call(base, 'GET', '/healthz')).status, 200);
});

/** `promise`, or a failure naming `what` when it has not settled within `ms` (a request never answered). */
async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} never answered within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Open a live-update stream; resolves with its status once the headers arrive. */
function openStream(method = 'GET'): Promise<{ status: number; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('/api/v1/events', base), { method }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, close: () => req.destroy() });
    });
    req.setTimeout(15_000, () => reject(new Error(`${method} /api/v1/events never answered`)));
    req.on('error', reject);
    req.end();
  });
}

test('HEAD /api/v1/events answers at once and takes no live-update slot', async () => {
  for (let i = 0; i < 120; i++) {
    const reply = await within(15_000, call(base, 'HEAD', '/api/v1/events'), `HEAD /api/v1/events (${i})`);
    assert.equal(reply.status, 200, `HEAD ${i}: ${reply.status}`);
  }
  const stream = await openStream();
  assert.equal(stream.status, 200, 'a live page still gets a stream after 120 HEADs');
  stream.close();
});

test('one client cannot take every live-update slot: it gets a 429 long before the server is full', async () => {
  const streams: Array<{ status: number; close(): void }> = [];
  try {
    for (let i = 0; i < 40; i++) {
      const stream = await openStream();
      streams.push(stream);
      if (stream.status === 429) break;
    }
    const last = streams[streams.length - 1]!;
    assert.equal(last.status, 429, `one client opened ${streams.length} streams without a 429`);
    assert.ok(streams.length <= 17, `the per-client cap came at ${streams.length}`);
  } finally {
    for (const s of streams) s.close();
  }
});

test("the server's header, request, idle and connection limits are set", () => {
  const http = server;
  assert.ok(
    http.headersTimeout > 0 && http.headersTimeout <= 20_000,
    `headersTimeout ${http.headersTimeout}`,
  );
  assert.ok(
    http.requestTimeout > 0 && http.requestTimeout <= 60_000,
    `requestTimeout ${http.requestTimeout}`,
  );
  assert.ok(
    http.keepAliveTimeout > 0 && http.keepAliveTimeout <= 10_000,
    `keepAliveTimeout ${http.keepAliveTimeout}`,
  );
  assert.ok(
    http.maxHeadersCount !== null && http.maxHeadersCount <= 100,
    `maxHeadersCount ${http.maxHeadersCount}`,
  );
  assert.ok(
    Number.isFinite(http.maxConnections) && http.maxConnections <= 1024,
    `maxConnections ${http.maxConnections}`,
  );
  assert.ok((http.maxRequestsPerSocket ?? 0) > 0, `maxRequestsPerSocket ${http.maxRequestsPerSocket}`);
});

test('an actor name outside Latin-1, sent as UTF-8 or percent-encoded (as the dashboard sends it), is stored as written', async () => {
  const name = 'Zoë 山田 🚀';
  // Node writes a header value's characters as bytes: the UTF-8 bytes, as a client sends them.
  const raw = Buffer.from(name, 'utf8').toString('latin1');
  const asUtf8 = await call(base, 'POST', '/api/v1/schedules/surface.tick/pause', {
    headers: { ...auth, 'x-metronome-actor': raw },
    // A Buffer: Node sends a string body's first chunk with the headers, encoding both as UTF-8.
    body: Buffer.from('{"reason": "utf-8"}'),
  });
  assert.equal(asUtf8.status, 200, asUtf8.text);
  const encoded = await call(base, 'POST', '/api/v1/schedules/surface.tick/resume', {
    headers: { ...auth, 'x-metronome-actor': `UTF-8''${encodeURIComponent(name)}` },
    body: '{}',
  });
  assert.equal(encoded.status, 200, encoded.text);
  const rows = await file.db.sql<{ actor: string; action: string }[]>`
    select actor, action from metronome.audit_log where schedule_name = 'surface.tick' order by id`;
  assert.deepEqual(
    rows.map((r) => [r.action, r.actor]),
    [
      ['pause', name],
      ['resume', name],
    ],
  );
});
