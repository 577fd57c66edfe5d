/**
 * The leader history (a trigger on the lease row) and the replicas table (presence), against real
 * Postgres and the real leadership code: a hand-over ends a term `released`, a leader cut off from
 * the database ends `expired` and the next term is a failover; renewals write no history.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import { Leadership, type LeaseConnection } from '../../src/beat/leadership.ts';
import { Presence } from '../../src/beat/presence.ts';
import { createLogger } from '../../src/logger.ts';
import { currentLeader, leaderChanges } from '../../src/observe/leader.ts';
import { recentReplicas } from '../../src/observe/replicas.ts';
import { eventually, sleep } from '../support/beat-process.ts';
import { migratedDatabasePerFile } from '../support/migrated.ts';

const log = createLogger({ level: 'silent' });
const file = migratedDatabasePerFile();

/** A lease connection that can be cut, as a network partition would (the process lives on). */
function cuttable(inner: LeaseConnection): LeaseConnection & { cut: boolean } {
  const conn = {
    cut: false,
    rows: <T>(query: Parameters<LeaseConnection['rows']>[0]) =>
      conn.cut ? Promise.reject(new Error('connection cut')) : inner.rows<T>(query),
    listen: inner.listen.bind(inner),
  };
  return conn;
}

function leadership(holderId: string, connection: LeaseConnection): Leadership {
  return new Leadership({
    connection,
    group: 'history',
    ttlMs: 1_000,
    log,
    holderId,
    onElected: () => {},
    onDemoted: () => {},
  });
}

test('leader terms: first, hand-over (released), failover (expired); renewals add nothing', async () => {
  const a = leadership('a', file.database);
  await a.start();
  await eventually('a leads', 5_000, () => a.leading);
  await sleep(1_200); // a few renewals (every TTL/3)
  let changes = await leaderChanges(file.database, 'history', 10);
  assert.equal(changes.length, 1, 'renewals write no history');
  assert.deepEqual(
    { epoch: changes[0]!.epoch, holder: changes[0]!.holder, cause: changes[0]!.cause },
    { epoch: 1, holder: 'a', cause: 'first' },
  );
  const leader = await currentLeader(file.database, 'history');
  assert.equal(leader.live, true);
  assert.equal(leader.since, changes[0]!.startedAt);

  await a.stop();
  const connection = cuttable(file.database);
  const b = leadership('b', connection);
  await b.start();
  await eventually('b leads', 5_000, () => b.leading);
  changes = await leaderChanges(file.database, 'history', 10);
  assert.equal(changes[0]!.cause, 'hand-over');
  assert.equal(changes[0]!.previousHolder, 'a');
  assert.equal(changes[1]!.endReason, 'released');
  assert.ok((changes[0]!.gapMs ?? Number.POSITIVE_INFINITY) < 1_000, `gap ${changes[0]!.gapMs} ms`);

  // b loses the database: it steps down but cannot release; its lease runs out; c takes over.
  connection.cut = true;
  await eventually('b steps down', 5_000, () => !b.leading);
  const c = leadership('c', file.database);
  await c.start();
  await eventually('c leads', 5_000, () => c.leading);
  changes = await leaderChanges(file.database, 'history', 10);
  assert.deepEqual(
    changes.map((t) => [t.epoch, t.holder, t.cause, t.endReason]),
    [
      [3, 'c', 'failover', null],
      [2, 'b', 'hand-over', 'expired'],
      [1, 'a', 'first', 'released'],
    ],
  );
  assert.ok((changes[0]!.gapMs ?? -1) >= 0);
  await c.stop();
  await b.stop();
});

test('presence: a row per process, its role written at once when it changes, stopped at the end', async () => {
  let role = 'starting';
  const presence = new Presence({
    database: file.database,
    id: 'p1',
    group: 'g',
    http: '127.0.0.1:9464',
    role: () => role,
    log,
  });
  await presence.start();
  let [replica] = await recentReplicas(file.database, 'g', 15_000);
  assert.equal(replica?.role, 'starting');
  assert.equal(replica?.alive, true);
  role = 'leader';
  replica = await eventually('the new role', 3_000, async () => {
    const [r] = await recentReplicas(file.database, 'g', 15_000);
    return r?.role === 'leader' ? r : undefined;
  });
  assert.equal(replica.http, '127.0.0.1:9464');
  assert.equal(replica.pid, process.pid);
  await presence.stop();
  [replica] = await recentReplicas(file.database, 'g', 15_000);
  assert.equal(replica?.role, 'stopped');
  // Not seen within the alive window: shown as gone, not as what it last said.
  await file.database.rows(
    sql`update metronome.replicas set seen_at = now() - interval '1 minute', role = 'standby'`,
  );
  [replica] = await recentReplicas(file.database, 'g', 15_000);
  assert.deepEqual([replica?.role, replica?.alive], ['gone', false]);
});
