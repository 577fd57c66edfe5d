/** The contract against the real Redis at METRONOME_TEST_REDIS_URL, plus what is stored there. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { RedlockRunLocks } from '../../src/locks/index.ts';
import {
  connectTestRedis,
  deletePrefix,
  REDIS_URL,
  RedisServerProcess,
  randomPrefix,
} from '../support/redis.ts';
import { runLockContract } from './contract.ts';

runLockContract(`Redlock on ${REDIS_URL}`, async () => {
  const admin = await connectTestRedis();
  const prefix = randomPrefix('runlock');
  return {
    open: () => new RedlockRunLocks({ urls: [REDIS_URL], prefix }),
    async cleanup() {
      await deletePrefix(admin, prefix);
      admin.disconnect();
    },
  };
});

let admin: Redis;
before(async () => {
  admin = await connectTestRedis();
});
after(() => admin?.disconnect());

test('Redlock: the lock is the key prefix + schedule key, holding the token with the TTL', async () => {
  const prefix = randomPrefix('runlock');
  const locks = new RedlockRunLocks({ urls: [REDIS_URL], prefix });
  try {
    const held = await locks.tryAcquire('sched-1', 5_000, 'beat-a');
    assert.ok(held);
    assert.equal(held.key, `${prefix}sched-1`);
    assert.equal(await admin.get(held.key), held.token);
    const ttl = await admin.pttl(held.key);
    assert.ok(ttl > 4_000 && ttl <= 5_000, `PTTL ${ttl}`);
    const extended = await locks.extend(held, 20_000);
    assert.ok(extended);
    assert.ok((await admin.pttl(held.key)) > 15_000);
    await locks.release(extended);
    assert.equal(await admin.exists(held.key), 0);

    const given = await locks.tryAcquire('sched-2', 5_000, 'beat-a', 'task-123');
    assert.equal(await admin.get(`${prefix}sched-2`), 'task-123', 'a given token is what Redis holds');
    const random = await locks.tryAcquire('sched-3', 5_000, 'beat-a');
    assert.ok(given && random);
    assert.match(random.token, /^[0-9a-f]{32}$/, 'and the next acquire without one is random again');
    assert.equal(await admin.get(`${prefix}sched-3`), random.token);
  } finally {
    await locks.close();
    await deletePrefix(admin, prefix);
  }
});

test('Redlock: the database in the URL is the one used', async () => {
  const url = new URL(REDIS_URL);
  url.pathname = '/3';
  const prefix = randomPrefix('runlock');
  const locks = new RedlockRunLocks({ urls: [url.toString()], prefix });
  const db3 = await connectTestRedis(url.toString());
  try {
    const held = await locks.tryAcquire('sched-db', 5_000, 'beat-a');
    assert.ok(held);
    assert.equal(await db3.get(held.key), held.token, 'in db 3');
    assert.equal(await admin.exists(held.key), 0, 'not in db 0');
    assert.equal(await locks.isHeld('sched-db'), true);
    await locks.release(held);
    assert.equal(await db3.exists(held.key), 0);
  } finally {
    await locks.close();
    await deletePrefix(db3, prefix);
    db3.disconnect();
  }
});

test('Redlock: URLs selecting different databases are refused', () => {
  assert.throws(
    () => new RedlockRunLocks({ urls: ['redis://127.0.0.1:6379/1', 'redis://127.0.0.1:6380/2'] }),
    /different databases/,
  );
});

test('Redlock: a hung Redis (SIGSTOP) makes operations fail within the command timeout', async (t) => {
  const server = await RedisServerProcess.start();
  const locks = new RedlockRunLocks({ urls: [server.url], prefix: randomPrefix('runlock') });
  try {
    const held = await locks.tryAcquire('hung', 5_000, 'beat-a');
    assert.ok(held);
    server.pause();
    const started = performance.now();
    await assert.rejects(locks.tryAcquire('hung-2', 5_000, 'beat-a'), {
      name: 'RunLockUnavailableError',
      message: /timed out/,
    });
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1_500, `took ${elapsed.toFixed(0)} ms`);
    t.diagnostic(`hung Redis: tryAcquire rejected in ${elapsed.toFixed(1)} ms`);
    await assert.rejects(locks.extend(held, 5_000), { name: 'RunLockUnavailableError' });
    server.resume();
    assert.ok(await locks.extend(held, 5_000), 'works again once the server answers');
  } finally {
    server.resume();
    await locks.close();
    await server.stop();
  }
});

test('Redlock: a lock whose round trip outlasts its validity is unavailable, alone or in a batch, never "held"', async () => {
  const prefix = randomPrefix('runlock');
  const locks = new RedlockRunLocks({ urls: [REDIS_URL], prefix });
  try {
    // A 1 ms TTL is valid until start + 1 ms - (2 ms drift): over before any answer can come back.
    await assert.rejects(locks.tryAcquire('late-1', 1, 'beat-a', 'task-late-1'), {
      name: 'RunLockUnavailableError',
      message: /took longer than the 1 ms TTL/,
    });
    await assert.rejects(
      locks.tryAcquireMany(
        [
          { scheduleKey: 'late-2', ttlMs: 5_000, token: 'task-late-2', retake: false },
          { scheduleKey: 'late-3', ttlMs: 1, token: 'task-late-3', retake: false },
        ],
        'beat-a',
      ),
      { name: 'RunLockUnavailableError', message: /took longer than the 1 ms TTL/ },
    );
    assert.equal(await admin.exists(`${prefix}late-2`), 0, 'what the batch took is given back');
  } finally {
    await locks.close();
    await deletePrefix(admin, prefix);
  }
});
