/**
 * A Postgres connection that dies inside a transaction (a database restart, a failover, an operator's
 * pg_terminate_backend) is an error the caller sees and retries: it must never end the process. The
 * driver (postgres.js 3.4.9) sends the transaction's ROLLBACK on the dead connection through a deferred
 * write that dereferences the closed socket, an exception nobody can catch (porsager/postgres#1208);
 * the chaos test saw a beat exit of it. The project installs the driver with that write guarded
 * (patches/, docs/runtime.md "The Postgres driver").
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await db?.drop();
});

test('a connection terminated in a transaction or under a query: an error, never a crash or a query that waits for ever', () => {
  for (let round = 0; round < 6; round++) {
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'test/db/fixtures/transaction-cut.ts', db.url],
      { encoding: 'utf8', timeout: 30_000 }, // a query that never settles shows as the time limit
    );
    assert.equal(child.status, 0, `round ${round}: the process died:\n${child.stderr.slice(-1500)}`);
    const result = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}');
    assert.ok(result.thrown, `round ${round}: the transaction reported no error`);
    assert.ok(result.plain, `round ${round}: the query on the terminated connection did not settle`);
    assert.equal(result.poolAnswers, true, `round ${round}: the pool did not answer afterwards`);
  }
});
