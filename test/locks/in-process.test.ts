import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createInProcessLockStore,
  createRunLocks,
  InProcessRunLocks,
  parseRunLockHandle,
  RedlockRunLocks,
} from '../../src/locks/index.ts';
import { randomPrefix } from '../support/redis.ts';
import { runLockContract } from './contract.ts';

runLockContract('in-process (the process-wide table)', async () => {
  const prefix = randomPrefix('runlock');
  return { open: () => new InProcessRunLocks({ prefix }), cleanup: async () => {} };
});

test('in-process: a private store is invisible to other instances', async () => {
  const prefix = randomPrefix('runlock');
  const isolated = new InProcessRunLocks({ prefix, store: createInProcessLockStore() });
  const shared = new InProcessRunLocks({ prefix });
  const held = await isolated.tryAcquire('s', 1000, 'a');
  assert.ok(held);
  assert.equal(await shared.isHeld('s'), false);
  await isolated.release(held);
});

test('in-process: expiry follows the clock it is given', async () => {
  let now = 1_000_000;
  const locks = new InProcessRunLocks({ store: createInProcessLockStore(), now: () => now });
  const held = await locks.tryAcquire('s', 1000, 'a');
  assert.ok(held);
  assert.equal(held.expiresAt, 1_001_000);
  now += 999;
  assert.equal(await locks.isHeld('s'), true);
  now += 1;
  assert.equal(await locks.isHeld('s'), false, 'expired exactly at expiresAt');
  assert.equal(await locks.extend(held, 1000), null);
});

test('createRunLocks: in-process without Redis URLs, Redlock with them', async () => {
  const embedded = createRunLocks();
  assert.ok(embedded instanceof InProcessRunLocks);
  assert.equal(embedded.prefix, 'metronome:runlock:');
  assert.ok(
    createRunLocks({ redisUrls: [' ', ''] }) instanceof InProcessRunLocks,
    'blank URLs count as none',
  );
  const redis = createRunLocks({ redisUrls: ['redis://127.0.0.1:6379'], prefix: 'x:' });
  try {
    assert.ok(redis instanceof RedlockRunLocks);
    assert.equal(redis.prefix, 'x:');
  } finally {
    await redis.close();
  }
});

test('parseRunLockHandle reads a stored handle and names a bad field', () => {
  const handle = { key: 'metronome:runlock:s', scheduleKey: 's', token: 'abc', owner: 'o', expiresAt: 5 };
  assert.deepEqual(parseRunLockHandle(handle), handle);
  assert.deepEqual(parseRunLockHandle(JSON.stringify(handle)), handle);
  assert.deepEqual(parseRunLockHandle({ ...handle, extra: 1 }), handle, 'extra fields are dropped');
  assert.throws(() => parseRunLockHandle(null), /must be an object/);
  assert.throws(() => parseRunLockHandle({ ...handle, token: '' }), /"token"/);
  assert.throws(() => parseRunLockHandle({ ...handle, expiresAt: '5' }), /"expiresAt"/);
});
