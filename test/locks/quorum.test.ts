/**
 * Redlock across three Redis servers of our own (killed and restarted during the test), and a Redis
 * that is not there at all. Failures must be quick, typed, name the servers without passwords, and
 * never crash the process.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedlockRunLocks, RunLockUnavailableError } from '../../src/locks/index.ts';
import { createLogger } from '../../src/logger.ts';
import { freePort, RedisServerProcess, randomPrefix } from '../support/redis.ts';

const crashes: unknown[] = [];
const onCrash = (error: unknown) => crashes.push(error);

before(() => {
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
});
after(() => {
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
  assert.deepEqual(crashes, [], 'no uncaught errors or unhandled rejections');
});

async function timed<T>(run: () => Promise<T>): Promise<{ result: PromiseSettledResult<T>; ms: number }> {
  const started = performance.now();
  const [result] = await Promise.allSettled([run()]);
  return { result: result!, ms: performance.now() - started };
}

function unavailable(result: PromiseSettledResult<unknown>): RunLockUnavailableError {
  assert.equal(result.status, 'rejected', 'expected a RunLockUnavailableError, got a result');
  assert.ok(result.reason instanceof RunLockUnavailableError, `got ${String(result.reason)}`);
  return result.reason;
}

describe('Redlock quorum over three Redis servers', () => {
  const servers: RedisServerProcess[] = [];
  let beatA: RedlockRunLocks;
  let beatB: RedlockRunLocks;

  before(async () => {
    servers.push(...(await Promise.all([0, 1, 2].map(() => RedisServerProcess.start()))));
    const prefix = randomPrefix('runlock');
    const urls = servers.map((server) => server.url);
    beatA = new RedlockRunLocks({ urls, prefix });
    beatB = new RedlockRunLocks({ urls, prefix });
  });

  after(async () => {
    await Promise.all([beatA?.close(), beatB?.close()]);
    await Promise.all(servers.map((server) => server.stop()));
  });

  test('all up, one down (2/3), two down (no quorum), back up', async (t) => {
    const [first, second] = servers as [RedisServerProcess, RedisServerProcess, RedisServerProcess];

    // All three up.
    const held = await beatA.tryAcquire('q', 10_000, 'beat-a');
    assert.ok(held);
    assert.equal(await beatB.tryAcquire('q', 10_000, 'beat-b'), null);

    // One down: the two left still hold it, so it is still held; and locking still works.
    await first.stop();
    assert.equal(await beatB.tryAcquire('q', 10_000, 'beat-b'), null, 'still held with one server down');
    assert.equal(await beatB.isHeld('q'), true);
    const retaken = await beatB.tryAcquire('q', 10_000, 'beat-b', held.token);
    assert.ok(retaken, 're-take with the same token works on 2 of 3');
    assert.equal(retaken.token, held.token);
    const extended = await beatA.extend(held, 10_000);
    assert.ok(extended, 'extend works on 2 of 3');
    await beatA.release(extended);
    const other = await beatB.tryAcquire('q', 10_000, 'beat-b');
    assert.ok(other, 'acquire works on 2 of 3');
    assert.equal(await beatA.tryAcquire('q', 10_000, 'beat-a'), null);

    // Two down: no quorum, so nothing can be decided; every operation fails quickly and typed.
    await second.stop();
    const acquire = await timed(() => beatA.tryAcquire('q2', 10_000, 'beat-a'));
    const error = unavailable(acquire.result);
    assert.ok(acquire.ms < 1_500, `tryAcquire took ${acquire.ms.toFixed(0)} ms`);
    t.diagnostic(`no quorum: tryAcquire rejected in ${acquire.ms.toFixed(1)} ms`);
    assert.equal(error.operation, 'acquire');
    assert.match(error.message, /no quorum: 1 of 3 Redis servers answered, 2 needed/);
    assert.deepEqual(error.failures.map((failure) => failure.url).sort(), [first.url, second.url].sort());
    const operations: (() => Promise<unknown>)[] = [
      () => beatB.extend(other, 10_000),
      () => beatB.release(other),
      () => beatA.isHeld('q'),
    ];
    for (const operation of operations) {
      const { result, ms } = await timed(operation);
      unavailable(result);
      assert.ok(ms < 1_500, `took ${ms.toFixed(0)} ms`);
    }

    // Back up (empty: no persistence): locking works again once the clients have reconnected.
    await Promise.all([first.start(), second.start()]);
    const restarted = performance.now();
    const deadline = Date.now() + 5_000;
    let again = null;
    while (!again) {
      try {
        again = await beatA.tryAcquire('q3', 10_000, 'beat-a');
      } catch (error) {
        assert.ok(error instanceof RunLockUnavailableError);
        if (Date.now() > deadline) throw error;
        await sleep(100);
      }
    }
    t.diagnostic(`servers back: locking again after ${(performance.now() - restarted).toFixed(0)} ms`);
    assert.equal(await beatB.tryAcquire('q3', 10_000, 'beat-b'), null);
    await beatA.release(again);
    assert.equal(await beatB.isHeld('q3'), false);
  });
});

describe('Redis unreachable', () => {
  test('tryAcquire rejects with RunLockUnavailableError quickly, naming the URL with its password redacted', async (t) => {
    const port = await freePort();
    const url = `redis://:s3cret-pw@127.0.0.1:${port}`;
    const started = performance.now();
    const lines: string[] = [];
    const logger = createLogger({
      level: 'debug',
      destination: { write: (line: string) => lines.push(line) },
    });
    const locks = new RedlockRunLocks({ urls: [url], prefix: randomPrefix('runlock'), logger });
    try {
      const { result, ms } = await timed(() => locks.tryAcquire('s', 1_000, 'beat-a'));
      const error = unavailable(result);
      const total = performance.now() - started;
      assert.ok(total < 1_500, `took ${total.toFixed(0)} ms`);
      t.diagnostic(
        `closed port: first tryAcquire rejected in ${ms.toFixed(1)} ms (${total.toFixed(1)} ms with setup)`,
      );
      assert.equal(error.name, 'RunLockUnavailableError');
      assert.match(error.message, new RegExp(`redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}`));
      assert.match(error.message, /Redis unreachable/);
      assert.doesNotMatch(error.message, /s3cret/);
      assert.doesNotMatch(JSON.stringify(error.failures), /s3cret/);
      assert.deepEqual(locks.urls, [`redis://:***@127.0.0.1:${port}`]);

      const operations: (() => Promise<unknown>)[] = [
        () => locks.isHeld('s'),
        () => locks.tryAcquire('s', 1_000, 'beat-a'),
      ];
      for (const operation of operations) {
        const again = await timed(operation);
        unavailable(again.result);
        assert.ok(again.ms < 500, `a later attempt took ${again.ms.toFixed(0)} ms`);
      }
      const handle = { key: 'k', scheduleKey: 's', token: 't', owner: 'o', expiresAt: Date.now() + 60_000 };
      unavailable((await timed(() => locks.extend(handle, 1_000))).result);
      unavailable((await timed(() => locks.release(handle))).result);

      // The client keeps trying to reconnect in the background; its errors must not surface.
      await sleep(500);
      const warnings = lines.filter((line) => line.includes('run lock Redis unreachable'));
      assert.equal(warnings.length, 1, 'one warning per outage, not one per reconnection attempt');
      assert.match(warnings[0]!, /redis:\/\/:\*\*\*@127\.0\.0\.1/);
      assert.doesNotMatch(lines.join(''), /s3cret/);
    } finally {
      await locks.close();
    }
  });
});
