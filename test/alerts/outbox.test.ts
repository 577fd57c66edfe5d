/**
 * The alerts outbox on real Postgres (issue 20): an alert raised twice is one row; only the leader
 * whose lease is valid raises alerts and takes delivery attempts; an attempt under way is not
 * started again by anyone until it may have timed out; a failed attempt waits for its retry; a
 * delivered alert leaves the outbox; a pending one survives pruning whatever its age.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { AlertOutbox } from '../../src/beat/alert-outbox.ts';
import { BeatMetrics } from '../../src/beat/metrics.ts';
import {
  claimDeliveries,
  markAttemptFailed,
  markDelivered,
  pendingAlertCount,
  pruneAlerts,
} from '../../src/db/sql/alerts.ts';
import { openBreaches, recordJudgements } from '../../src/db/sql/deadlines.ts';
import { FencedError } from '../../src/db/sql/leader.ts';
import { createLogger } from '../../src/logger.ts';
import { verifyAlertSignature } from '../../src/model/alert-message.ts';
import { type AlertToRaise, alertKey } from '../../src/model/deadline.ts';
import { eventually } from '../support/beat-process.ts';
import { migratedDatabasePerFile } from '../support/migrated.ts';

const file = migratedDatabasePerFile();
const leaderA = { group: 'default', holder: 'a', epoch: 1 };
const leaderB = { group: 'default', holder: 'b', epoch: 2 };
const SLOT = Date.parse('2026-06-01T10:00:00Z');
const SECRET = 'outbox-test-secret-0123456789';

async function lease(holder: string, epoch: number): Promise<void> {
  await file.db.sql`
    insert into metronome.leader (grp, holder, epoch, expires_at)
    values ('default', ${holder}, ${epoch}, now() + interval '10 seconds')
    on conflict (grp) do update set holder = excluded.holder, epoch = excluded.epoch, expires_at = excluded.expires_at`;
}

const alert = (scheduleId: number, kind: AlertToRaise['kind']): AlertToRaise => ({
  key: alertKey(scheduleId, SLOT, kind),
  scheduleId,
  scheduleName: `s${scheduleId}`,
  scheduledFor: SLOT,
  kind,
  reason: `reason of ${kind}`,
});

test('raised once per key, only under a valid lease; attempts taken by the leader alone, once at a time', async () => {
  await file.db
    .sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by, finish_deadline_ms)
                    values ('s1', 't', 'interval', 60000, 'db', 5000)`;
  const [{ id } = { id: 0 }] = await file.db.sql<
    { id: number }[]
  >`select id from metronome.schedules where name = 's1'`;
  await lease('a', 1);
  const first = await recordJudgements(file.database, leaderA, [], [alert(Number(id), 'failed')], 'pending');
  assert.deepEqual([...first], [alertKey(Number(id), SLOT, 'failed')]);
  const again = await recordJudgements(file.database, leaderA, [], [alert(Number(id), 'failed')], 'pending');
  assert.equal(again.size, 0, 'the same key raised again adds nothing');
  assert.deepEqual([...((await openBreaches(file.database)).get(Number(id)) ?? [])], ['failed']);
  await assert.rejects(
    recordJudgements(file.database, leaderB, [], [alert(Number(id), 'missed')], 'pending'),
    FencedError,
  );

  assert.deepEqual(await claimDeliveries(file.database, leaderB, 10, 60_000), [], 'not the leader: nothing');
  const taken = await claimDeliveries(file.database, leaderA, 10, 60_000);
  assert.equal(taken.length, 1);
  assert.equal(taken[0]?.attempts, 1);
  assert.deepEqual(
    await claimDeliveries(file.database, leaderA, 10, 60_000),
    [],
    'an attempt under way is not started again',
  );

  await lease('b', 2);
  assert.deepEqual(
    await claimDeliveries(file.database, leaderA, 10, 0),
    [],
    'a leader whose lease moved on takes nothing',
  );
  await markAttemptFailed(file.database, taken[0]!.id, 'the webhook answered 503', 0);
  const retry = await claimDeliveries(file.database, leaderB, 10, 60_000);
  assert.equal(retry[0]?.attempts, 2, 'the next leader retries it, same key');
  assert.equal(retry[0]?.key, taken[0]?.key);
  assert.equal(retry[0]?.lastError, 'the webhook answered 503');
  await markDelivered(file.database, retry[0]!.id);
  assert.equal(await pendingAlertCount(file.database), 0);
});

test('pruning deletes old delivered alerts and keeps pending ones whatever their age', async () => {
  await lease('b', 2);
  await recordJudgements(file.database, leaderB, [], [alert(7, 'missed'), alert(8, 'missed')], 'pending');
  await file.db.sql`update metronome.alerts set raised_at = now() - interval '40 days'`;
  const [delivered] = await file.db.sql<
    { id: number }[]
  >`select id from metronome.alerts where schedule_id = 7`;
  await markDelivered(file.database, Number(delivered?.id));
  assert.equal(await pruneAlerts(file.database, 30 * 86_400_000), 2, 'the two delivered ones');
  const left = await file.db.sql<{ schedule_id: string }[]>`select schedule_id::text from metronome.alerts`;
  assert.deepEqual(
    left.map((r) => r.schedule_id),
    ['8'],
  );
});

test('the outbox delivers to a receiver behind Basic auth given in the URL, signed, with its key', async () => {
  const received: Array<{ authorization?: string; key?: string; valid: boolean; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      received.push({
        authorization: req.headers.authorization,
        key: req.headers['idempotency-key'] as string | undefined,
        valid: verifyAlertSignature(
          String(req.headers['metronome-signature']),
          body,
          SECRET,
          Math.floor(Date.now() / 1000),
        ),
        body,
      });
      res
        .writeHead(
          req.headers.authorization === `Basic ${Buffer.from('hook:p@ss').toString('base64')}` ? 204 : 401,
        )
        .end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await lease('c', 3);
  const fence = { group: 'default', holder: 'c', epoch: 3 };
  await recordJudgements(file.database, fence, [], [alert(9, 'not_finished')], 'pending');
  const outbox = new AlertOutbox({
    database: file.database,
    fence,
    settings: {
      webhookUrl: `http://hook:p%40ss@127.0.0.1:${port}/in`,
      webhookSecret: SECRET,
      webhookTimeoutMs: 2_000,
      retryMaxMs: 1_000,
      deadlineIntervalMs: 1_000,
      publicUrl: 'https://metronome.example.com',
    },
    metrics: new BeatMetrics({ processMetrics: false }),
    log: createLogger({ level: 'silent' }),
  });
  try {
    await eventually(
      'the alert delivered',
      10_000,
      async () => (await pendingAlertCount(file.database)) === 0,
    );
  } finally {
    await outbox.stop(2_000);
    server.close();
  }
  // The alert left pending by the test before goes too: the outbox holds every undelivered one.
  assert.deepEqual(received.map((r) => r.key).sort(), [
    alertKey(8, SLOT, 'missed'),
    alertKey(9, SLOT, 'not_finished'),
  ]);
  assert.ok(
    received.every((r) => r.valid),
    'signatures verify',
  );
  const nine = received.find((r) => r.key === alertKey(9, SLOT, 'not_finished'));
  assert.deepEqual(JSON.parse(nine?.body ?? '{}'), {
    id: alertKey(9, SLOT, 'not_finished'),
    type: 'breach',
    kind: 'not_finished',
    schedule: 's9',
    slot: new Date(SLOT).toISOString(),
    reason: 'reason of not_finished',
    raisedAt: JSON.parse(nine?.body ?? '{}').raisedAt,
    dashboard: 'https://metronome.example.com/schedules/s9',
  });
});
