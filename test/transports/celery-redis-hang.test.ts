/**
 * The Celery Redis broker client against a server that stops answering (a redis-server of the
 * test's own, frozen with SIGSTOP — the connection stays open, nothing replies): a publish fails
 * within a bound instead of hanging the tick, and when the server thaws, nothing the beat gave up
 * on is replayed behind its back (ioredis re-sends unfulfilled commands after a reconnect unless
 * told not to: a replayed LPUSH is a second message). The command the frozen server already holds
 * may still run when it thaws: that is a lost reply, counted and documented (docs/guarantees.md).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/logger.ts';
import { RedisBroker } from '../../src/transports/celery/redis-broker.ts';
import { sleep } from '../support/beat-process.ts';
import { RedisServerProcess } from '../support/redis.ts';

let server: RedisServerProcess;

before(async () => {
  server = await RedisServerProcess.start();
});

after(async () => {
  server?.resume();
  await server?.stop();
});

function message(n: number) {
  return {
    taskId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    task: 'tasks.record',
    args: [n],
    kwargs: {},
    queue: 'celery',
    origin: 'test@host',
    headers: {},
  };
}

test('a frozen broker: publish fails within a bound, and nothing is replayed when it thaws', async () => {
  const broker = new RedisBroker(
    `${server.url}/0`,
    { globalKeyprefix: '', signing: null },
    createLogger({ level: 'silent' }),
  );
  const check = new Redis(`${server.url}/0`);
  try {
    assert.deepEqual(await broker.publish([message(1)]), [null]);
    server.pause();
    const started = Date.now();
    const outcome = await Promise.race([
      broker.publish([message(2)]).then(
        (errors) => ({ errors }),
        (error: unknown) => ({ errors: [String(error)] }),
      ),
      sleep(10_000).then(() => 'hung' as const),
    ]);
    assert.notEqual(outcome, 'hung', 'the publish must not hang on a frozen broker');
    assert.ok(Date.now() - started < 5_000, `failed within 5 s (took ${Date.now() - started} ms)`);
    assert.ok(outcome !== 'hung' && outcome.errors[0], 'reported as failed');
    server.resume();
    await sleep(3_000);
    // The frozen server still holds the LPUSH in its socket buffer and runs it when it thaws (a lost
    // reply: the documented at-least-once case). It must never run twice.
    assert.ok((await check.llen('celery')) <= 2, 'the failed LPUSH was not replayed after the thaw');
  } finally {
    server.resume();
    check.disconnect();
    await broker.close();
  }
});
