/** /healthz, /readyz and /metrics of a leading beat (real Postgres, in-process run locks). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBind, startHttpServer } from '../../src/http/server.ts';
import { eventually } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { startInProcessBeat } from '../support/in-process-beat.ts';
import { createTestDatabase } from '../support/pg.ts';

test('health, readiness and metrics with bounded labels', async () => {
  const db = await createTestDatabase();
  const transport = new ControlledTransport();
  const running = await startInProcessBeat(db.url, transport);
  const { server, url } = await startHttpServer({
    bind: '127.0.0.1:0',
    metrics: running.metrics,
    readiness: () => running.beat.readiness(),
  });
  try {
    await eventually('leadership', 5_000, () => running.beat.leading);
    for (let i = 0; i < 20; i++) {
      await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by, overlap)
                   values (${`m${i}`}, 't', 'interval', 1000, 'db', 'allow')`;
    }
    await eventually('fires', 5_000, () => transport.enqueued.length >= 40);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true, role: 'leader', reasons: [] });
    // The per-state gauge is counted in the database at each reconcile (the book holds only what
    // is near), so it follows an insert within a reconcile interval.
    let text = '';
    await eventually('the state gauge counts the 20 schedules', 60_000, async () => {
      text = await (await fetch(`${url}/metrics`)).text();
      return text.includes('metronome_schedules{state="enabled"} 20');
    });
    for (const name of [
      'metronome_fires_total{outcome="enqueued"}',
      'metronome_dispatch_lag_seconds_bucket',
      'metronome_leader 1',
      'metronome_leader_epoch',
      'metronome_schedules{state="enabled"} 20',
      'metronome_missed_total',
      'metronome_skipped_total',
      'metronome_tick_duration_seconds_bucket',
      'metronome_lock_failures_total',
    ]) {
      assert.ok(text.includes(name), `metrics include ${name}`);
    }
    assert.ok(!/schedule="/.test(text) && !/name="m\d+"/.test(text), 'no label per schedule');
    assert.equal((await fetch(`${url}/nope`)).status, 404);
    assert.throws(() => parseBind('localhost'), /host:port/);
  } finally {
    await new Promise((resolve) => server.close(resolve));
    await running.stop();
    await db.drop();
  }
});
