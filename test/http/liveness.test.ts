/**
 * /healthz fails when the process is wedged — the tick loop of a leader has not turned within the
 * bound, or the event loop was blocked past it — and stop() hands over within its bound even when
 * a tick is stuck (real Postgres; a transport whose enqueue never returns).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startHttpServer } from '../../src/http/server.ts';
import { eventually } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { startInProcessBeat } from '../support/in-process-beat.ts';
import { createTestDatabase, one, type TestDatabase } from '../support/pg.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await db?.drop();
});

async function probe(url: string, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${url}${path}`);
  return { status: response.status, body: await response.text() };
}

/** A leading in-process beat with its HTTP server, both with the liveness bound `stallMs`. */
async function leadingWithHttp(transport: ControlledTransport, stallMs: number, stopTimeoutMs?: number) {
  const running = await startInProcessBeat(db.url, transport, { stallMs, stopTimeoutMs });
  const { server, url } = await startHttpServer({
    bind: '127.0.0.1:0',
    metrics: running.metrics,
    readiness: () => running.beat.readiness(),
    liveness: () => running.beat.liveness(),
    stallMs,
  });
  await eventually('leadership', 10_000, () => running.beat.leading);
  assert.equal((await probe(url, '/healthz')).status, 200);
  return {
    running,
    url,
    async close() {
      await new Promise((resolve) => server.close(resolve));
      await running.stop();
    },
  };
}

test('a leader stuck in a tick fails /healthz, and stop() still hands over within its bound', async () => {
  const transport = new ControlledTransport();
  const { running, url, close } = await leadingWithHttp(transport, 1_500, 1_000);
  try {
    transport.stuck = true;
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by)
                 values ('stuck', 't', 'interval', 1000, 'db')`;
    const failing = await eventually('healthz fails', 15_000, async () => {
      const r = await probe(url, '/healthz');
      return r.status === 503 ? r : undefined;
    });
    assert.match(failing.body, /tick loop has not turned for/);
    assert.equal((await probe(url, '/readyz')).status, 503);

    const started = Date.now();
    await running.beat.stop();
    const took = Date.now() - started;
    assert.ok(took < 6_000, `stop() took ${took} ms with a stuck tick`);
    const lease = one(await db.sql`select holder from metronome.leader where grp = 'default'`);
    assert.equal(lease.holder, null, 'the lease was released');
  } finally {
    transport.stuck = false;
    await close();
  }
});

test('an event loop blocked past the bound fails /healthz for a while, then recovers', async () => {
  const { url, close } = await leadingWithHttp(new ControlledTransport(), 1_000);
  try {
    const until = Date.now() + 1_600;
    while (Date.now() < until) {
      // blocking the event loop on purpose
    }
    const blocked = await probe(url, '/healthz');
    assert.equal(blocked.status, 503, blocked.body);
    assert.match(blocked.body, /event loop was blocked for \d/);
    await eventually('healthz recovers', 10_000, async () => (await probe(url, '/healthz')).status === 200);
  } finally {
    await close();
  }
});
