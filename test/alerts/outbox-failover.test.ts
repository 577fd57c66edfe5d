/**
 * Only the leader posts alerts (src/beat/alert-outbox.ts): each alert is claimed, fenced by the lease,
 * right before its POST, so a leader deposed mid-round posts at most the one already under way, and a
 * stopped outbox aborts it. On real Postgres, a receiver slower than the webhook timeout for the first
 * leader (its round drags on) and quick for the second (found by review: a round claimed twenty at once
 * and posted them one after another, past the deposal and the stop, and both leaders posted the same
 * alerts).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { AlertOutbox } from '../../src/beat/alert-outbox.ts';
import { BeatMetrics } from '../../src/beat/metrics.ts';
import { recordJudgements } from '../../src/db/sql/deadlines.ts';
import { silentLogger } from '../../src/logger.ts';
import { type AlertToRaise, alertKey } from '../../src/model/deadline.ts';
import { eventually } from '../support/beat-process.ts';
import { migratedDatabasePerFile } from '../support/migrated.ts';

const file = migratedDatabasePerFile();
const SLOT = Date.parse('2026-06-01T10:00:00Z');

async function lease(holder: string, epoch: number): Promise<void> {
  await file.db.sql`
    insert into metronome.leader (grp, holder, epoch, expires_at)
    values ('default', ${holder}, ${epoch}, now() + interval '60 seconds')
    on conflict (grp) do update set holder = excluded.holder, epoch = excluded.epoch, expires_at = excluded.expires_at`;
}

function outbox(fence: { group: string; holder: string; epoch: number }, url: string): AlertOutbox {
  return new AlertOutbox({
    database: file.database,
    fence,
    settings: {
      webhookUrl: url,
      webhookSecret: 'outbox-test-secret-0123456789',
      webhookTimeoutMs: 1_000,
      retryMaxMs: 60_000,
      deadlineIntervalMs: 1_000,
      publicUrl: undefined as never,
    },
    metrics: new BeatMetrics({ processMetrics: false }),
    log: silentLogger,
  });
}

test('a deposed, stopped leader posts no more alerts, and no alert is posted by both leaders after the deposal', async () => {
  const got: Array<{ path: string; key: string; at: number }> = [];
  const server = createServer((req, res) => {
    got.push({ path: req.url ?? '', key: String(req.headers['idempotency-key']), at: Date.now() });
    req.resume();
    // Slower than the 1 s webhook timeout for the first leader; at once for the second.
    if (req.url === '/a') setTimeout(() => res.writeHead(204).end(), 1_500).unref();
    else res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const A = { group: 'default', holder: 'a', epoch: 1 };
  const B = { group: 'default', holder: 'b', epoch: 2 };
  try {
    await lease('a', 1);
    const alerts: AlertToRaise[] = Array.from({ length: 12 }, (_, i) => ({
      key: alertKey(100 + i, SLOT, 'missed'),
      scheduleId: 100 + i,
      scheduleName: `s${i}`,
      scheduledFor: SLOT,
      kind: 'missed',
      reason: 'r',
    }));
    await recordJudgements(file.database, A, [], alerts, 'pending');
    const a = outbox(A, `${base}/a`);
    a.nudge();
    await eventually(
      'the first leader posting',
      15_000,
      () => got.filter((g) => g.path === '/a').length >= 2,
    );
    await lease('b', 2); // failover: the first leader is deposed
    await a.stop(200);
    const stoppedAt = Date.now();
    const b = outbox(B, `${base}/b`);
    b.nudge();
    await eventually('every alert delivered by the second leader', 30_000, async () => {
      const [row] = await file.db.sql<{ n: number }[]>`
        select count(*)::int as n from metronome.alerts where delivery = 'delivered'`;
      return row?.n === alerts.length;
    });
    await b.stop(1_000);
    const late = got.filter((g) => g.path === '/a' && g.at > stoppedAt);
    assert.deepEqual(late, [], 'the deposed, stopped leader still posted alerts');
  } finally {
    server.close();
  }
});
