/**
 * The run lock contract, written once and run against every implementation (in-process and Redlock).
 * `open()` must return a new RunLocks over the same backing store and key prefix — another process,
 * as far as the locks can tell.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseRunLockHandle, type RunLockHandle, type RunLocks } from '../../src/locks/index.ts';

export interface ContractSubject {
  open(): RunLocks;
  cleanup(): Promise<void>;
}

function scheduleKey(): string {
  return `schedule-${randomBytes(4).toString('hex')}`;
}

function roundTrip(handle: RunLockHandle): RunLockHandle {
  return parseRunLockHandle(JSON.stringify(handle));
}

export function runLockContract(name: string, setup: () => Promise<ContractSubject>): void {
  describe(`run lock contract: ${name}`, () => {
    let subject: ContractSubject;
    const opened: RunLocks[] = [];
    const open = (): RunLocks => {
      const locks = subject.open();
      opened.push(locks);
      return locks;
    };
    let beatA: RunLocks;
    let beatB: RunLocks;

    before(async () => {
      subject = await setup();
      beatA = open();
      beatB = open();
    });

    after(async () => {
      await Promise.all(opened.map((locks) => locks.close()));
      await subject?.cleanup();
    });

    test('acquire, then another owner gets null, then release, then acquire works', async () => {
      const key = scheduleKey();
      assert.equal(await beatA.isHeld(key), false);
      const before = Date.now();
      const held = await beatA.tryAcquire(key, 10_000, 'beat-a');
      assert.ok(held, 'the first acquire gets the lock');
      assert.equal(held.scheduleKey, key);
      assert.ok(held.key.endsWith(key));
      assert.equal(held.owner, 'beat-a');
      assert.ok(held.token.length >= 16);
      assert.ok(
        held.expiresAt > before + 9_000 && held.expiresAt <= Date.now() + 10_000,
        'expiresAt ≈ now + TTL',
      );
      assert.equal(await beatA.isHeld(key), true);
      assert.equal(await beatB.isHeld(key), true);

      assert.equal(await beatB.tryAcquire(key, 10_000, 'beat-b'), null, 'held: another owner gets null');
      assert.equal(await beatA.tryAcquire(key, 10_000, 'beat-a'), null, 'held: the same owner name too');

      await beatA.release(held);
      assert.equal(await beatB.isHeld(key), false);
      const next = await beatB.tryAcquire(key, 10_000, 'beat-b');
      assert.ok(next, 'free again after release');
      assert.notEqual(next.token, held.token, 'every acquisition has its own token');
      await beatB.release(next);
    });

    test('the TTL frees the lock', async () => {
      const key = scheduleKey();
      const held = await beatA.tryAcquire(key, 300, 'beat-a');
      assert.ok(held);
      assert.equal(await beatB.tryAcquire(key, 300, 'beat-b'), null);
      await sleep(400);
      assert.equal(await beatB.isHeld(key), false, 'expired');
      const next = await beatB.tryAcquire(key, 300, 'beat-b');
      assert.ok(next, 'another owner takes it after the TTL');
      await beatB.release(next);
    });

    test('extend keeps the lock past its original TTL', async () => {
      const key = scheduleKey();
      const held = await beatA.tryAcquire(key, 300, 'beat-a');
      assert.ok(held);
      await sleep(150);
      const extended = await beatA.extend(held, 600);
      assert.ok(extended, 'extend succeeds while the lock is ours');
      assert.equal(extended.token, held.token);
      assert.ok(extended.expiresAt > held.expiresAt);
      await sleep(300); // 450 ms after acquiring: past the original 300 ms TTL
      assert.equal(await beatB.isHeld(key), true);
      assert.equal(await beatB.tryAcquire(key, 300, 'beat-b'), null, 'still ours');
      await beatA.release(extended);
      assert.equal(await beatB.isHeld(key), false);
    });

    test('after expiry and takeover, extend returns null and release leaves the new owner alone', async () => {
      const key = scheduleKey();
      const old = await beatA.tryAcquire(key, 200, 'beat-a');
      assert.ok(old);
      await sleep(300);
      const taken = await beatB.tryAcquire(key, 5_000, 'beat-b');
      assert.ok(taken, 'taken over after expiry');

      assert.equal(await beatA.extend(old, 5_000), null, 'the old handle cannot extend');
      assert.equal(await beatA.tryAcquire(key, 300, 'beat-a'), null, 'and did not steal it');
      await beatA.release(old);
      assert.equal(await beatA.isHeld(key), true, 'release of the old handle left the new lock');
      assert.equal(await beatA.tryAcquire(key, 300, 'beat-a'), null);

      const renewed = await beatB.extend(taken, 5_000);
      assert.ok(renewed, 'the new owner still owns it');
      await beatB.release(renewed);
      assert.equal(await beatA.isHeld(key), false);
    });

    test('extend and release check the token, not just the time left', async () => {
      const key = scheduleKey();
      const held = await beatA.tryAcquire(key, 5_000, 'beat-a');
      assert.ok(held);
      const forged: RunLockHandle = { ...held, token: randomBytes(16).toString('hex'), owner: 'beat-b' };
      assert.equal(await beatB.extend(forged, 60_000), null, 'a wrong token cannot extend');
      await beatB.release(forged);
      assert.equal(await beatB.isHeld(key), true, 'a wrong token cannot release');
      assert.ok(await beatA.extend(held, 5_000), 'the real handle still works');
      await beatA.release(held);
    });

    test('an expired handle cannot be extended, even when nobody took the lock', async () => {
      const key = scheduleKey();
      const held = await beatA.tryAcquire(key, 200, 'beat-a');
      assert.ok(held);
      await sleep(300);
      assert.equal(await beatA.extend(held, 5_000), null);
      assert.equal(await beatA.isHeld(key), false, 'and extend did not revive it');
    });

    test('a released handle is dead: extend returns null, a second release is a no-op', async () => {
      const key = scheduleKey();
      const held = await beatA.tryAcquire(key, 5_000, 'beat-a');
      assert.ok(held);
      await beatA.release(held);
      assert.equal(await beatA.extend(held, 5_000), null);
      await beatA.release(held);
      assert.equal(await beatA.isHeld(key), false);
    });

    test('a handle survives a JSON round trip and works from a fresh instance (a new leader)', async () => {
      const key = scheduleKey();
      const held = await beatA.tryAcquire(key, 5_000, 'beat-a epoch 1');
      assert.ok(held);
      const stored = JSON.parse(JSON.stringify(held)) as unknown; // e.g. an occurrence's jsonb column
      assert.deepEqual(stored, held, 'a handle is plain JSON');

      const newLeader = open();
      const restored = parseRunLockHandle(stored);
      const extended = await newLeader.extend(restored, 5_000);
      assert.ok(extended, 'a new process can extend it');
      assert.equal(await beatB.tryAcquire(key, 300, 'beat-b'), null);

      const another = open();
      await another.release(roundTrip(extended));
      assert.equal(await beatB.isHeld(key), false, 'and release it');
      const next = await beatB.tryAcquire(key, 300, 'beat-b');
      assert.ok(next);
      await beatB.release(next);
    });

    test('with a given token: held by another token → null; held with the same token → re-taken', async () => {
      const key = scheduleKey();
      const taskId = `task-${randomBytes(4).toString('hex')}`;
      const first = await beatA.tryAcquire(key, 300, 'beat-a epoch 1', taskId);
      assert.ok(first);
      assert.equal(first.token, taskId, 'the lock holds the given token');
      assert.equal(await beatB.tryAcquire(key, 5_000, 'beat-b', 'another-task'), null, 'another token: held');
      assert.equal(await beatB.tryAcquire(key, 5_000, 'beat-b'), null, 'a random token: held');

      // A new leader re-sends the same occurrence: same token, so it re-takes the lock, with a new TTL.
      const retaken = await beatB.tryAcquire(key, 5_000, 'beat-b epoch 2', taskId);
      assert.ok(retaken, 're-taken with the same token');
      assert.equal(retaken.token, taskId);
      assert.equal(retaken.owner, 'beat-b epoch 2');
      assert.ok(retaken.expiresAt > first.expiresAt + 4_000, 'the TTL restarted');
      await sleep(400); // past the first TTL: still held, thanks to the re-take
      assert.equal(await beatA.tryAcquire(key, 300, 'beat-a', 'another-task'), null);

      await beatA.release(first); // the same token: a release by either handle frees it
      assert.equal(await beatA.isHeld(key), false);
      const again = await beatA.tryAcquire(key, 300, 'beat-a', taskId);
      assert.ok(again, 'free: taken afresh with the token');
      await beatA.release(again);
    });

    test('handleFor finds a lock by its token (a run enqueued by the previous leader)', async () => {
      const key = scheduleKey();
      const taskId = `task-${randomBytes(4).toString('hex')}`;
      const held = await beatA.tryAcquire(key, 5_000, 'beat-a', taskId);
      assert.ok(held);

      const newLeader = open();
      const adopted = newLeader.handleFor(key, taskId, 'beat-b', Date.now() + 5_000);
      assert.equal(adopted.key, held.key);
      assert.equal(adopted.token, taskId);
      const extended = await newLeader.extend(adopted, 5_000);
      assert.ok(extended, 'extends the old leader’s lock');
      assert.equal(
        await newLeader.extend(newLeader.handleFor(key, 'wrong', 'beat-b', Date.now() + 5_000), 5_000),
        null,
      );
      await newLeader.release(newLeader.handleFor(key, 'wrong', 'beat-b', Date.now() + 5_000));
      assert.equal(await beatA.isHeld(key), true, 'a wrong token releases nothing');
      await newLeader.release(extended);
      assert.equal(await beatA.isHeld(key), false, 'and releases it');
      assert.throws(() => newLeader.handleFor(key, '', 'beat-b', 0), TypeError);
    });

    test('locks of different schedules are independent', async () => {
      const one = scheduleKey();
      const two = scheduleKey();
      const a = await beatA.tryAcquire(one, 5_000, 'beat-a');
      const b = await beatB.tryAcquire(two, 5_000, 'beat-b');
      assert.ok(a && b);
      await beatA.release(a);
      assert.equal(await beatA.isHeld(two), true);
      await beatB.release(b);
    });

    test('a TTL that is not a positive whole number of ms is refused', async () => {
      const key = scheduleKey();
      await assert.rejects(beatA.tryAcquire(key, 0, 'beat-a'), RangeError);
      await assert.rejects(beatA.tryAcquire(key, 1.5, 'beat-a'), RangeError);
      await assert.rejects(beatA.tryAcquire(key, Number.NaN, 'beat-a'), RangeError);
      assert.equal(await beatA.isHeld(key), false);
      await assert.rejects(beatA.tryAcquire('', 1000, 'beat-a'), TypeError);
    });

    test('a batch: free locks are taken, held ones answer null, a re-take of our own token renews', async () => {
      const free = scheduleKey();
      const heldByB = scheduleKey();
      const ours = scheduleKey();
      const b = await beatB.tryAcquire(heldByB, 5_000, 'beat-b');
      const mine = await beatA.tryAcquire(ours, 300, 'beat-a', 'token-ours');
      assert.ok(b && mine);
      const before = Date.now();
      const answers = await beatA.tryAcquireMany(
        [
          { scheduleKey: free, ttlMs: 5_000, token: 'token-free', retake: false },
          { scheduleKey: heldByB, ttlMs: 5_000, token: 'token-x', retake: false },
          { scheduleKey: ours, ttlMs: 5_000, token: 'token-ours', retake: true },
        ],
        'beat-a',
      );
      assert.equal(answers.length, 3);
      assert.ok(answers[0] && answers[0].token === 'token-free' && answers[0].expiresAt > before + 4_000);
      assert.equal(answers[1], null, 'held by another token');
      assert.ok(
        answers[2] && answers[2].expiresAt > before + 4_000,
        'our own token re-taken for the new TTL',
      );
      await sleep(400);
      assert.equal(await beatB.isHeld(ours), true, 'the re-take outlived the first TTL');
      await beatA.releaseMany([answers[0]!, answers[2]!, beatA.handleFor(heldByB, 'token-x', 'beat-a', 0)]);
      assert.equal(await beatA.isHeld(free), false);
      assert.equal(await beatA.isHeld(ours), false);
      assert.equal(await beatA.isHeld(heldByB), true, "another owner's lock is left alone");
      await beatB.release(b);
    });
  });
}
