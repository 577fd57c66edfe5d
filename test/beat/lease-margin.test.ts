/**
 * A run sent after its next slot was due gets only a moment's run lease (src/model/run-lease.ts). If
 * that lease ends between the dispatcher's look at the schedule's runs and its ask for the next
 * slot's lock, the next run would start beside one still waiting in the queue (chaos seed 71:
 * `long-buffer-2s`, a buffered run released late). So before it asks for a lock, the dispatcher
 * has the runs whose lease ends within a margin located too (RunsInFlight.refresh): one still in
 * the queue holds its schedule from then on; one the runtime has nowhere is found lost only once
 * its lease has ended.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LedgerWriter } from '../../src/beat/ledger-writer.ts';
import { RunsInFlight } from '../../src/beat/runs-in-flight.ts';
import { InProcessRunLocks } from '../../src/locks/in-process.ts';
import { silentLogger } from '../../src/logger.ts';
import type { EnqueueItem } from '../../src/transports/transport.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';

/** A transport that can tell where runs are (as Celery on Redis does), none of them seen yet. */
class LocatingTransport extends ControlledTransport {
  readonly queued = new Set<string>();
  located = 0;
  async locate(items: EnqueueItem[]): Promise<Map<string, 'queued' | 'seen'>> {
    this.located += items.length;
    return new Map(items.filter((i) => this.queued.has(i.taskId)).map((i) => [i.taskId, 'queued' as const]));
  }
}

function setUp() {
  const transport = new LocatingTransport();
  const runs = new RunsInFlight({
    transport,
    locks: new InProcessRunLocks({ prefix: `lease-margin-${process.pid}-${Math.random()}:` }),
    // Queued in memory only: nothing in these cases is flushed.
    writer: new LedgerWriter(undefined as never, () => silentLogger),
    log: () => silentLogger,
    onLockFailure: () => {},
  });
  const add = (taskId: string, scheduleId: number, leaseMs: number) => {
    transport.unseen.add(`s${scheduleId}`); // status() says nothing of it: not started
    runs.add({
      taskId,
      scheduleId,
      scheduleName: `s${scheduleId}`,
      scope: `schedule:${scheduleId}`,
      lock: null,
      extendMs: 1_000,
      leaseEndsAt: Date.now() + leaseMs,
      holdUntil: Date.now() + 60_000,
      item: { taskId, scheduleId, scheduleName: `s${scheduleId}` } as EnqueueItem,
      state: 'unknown',
      recordedRunning: false,
    });
  };
  return { transport, runs, add };
}

test('a run in the queue whose lease ends within the margin holds its schedule before the lock is asked', async () => {
  const { transport, runs, add } = setUp();
  add('late-run', 1, 200);
  transport.queued.add('late-run');
  await runs.refresh(['late-run']);
  assert.equal(
    runs.holds('schedule:1'),
    false,
    'without a margin, a run whose lease has not ended is not looked for',
  );
  await runs.refresh(['late-run'], { leaseMarginMs: 1_000 });
  assert.equal(runs.holds('schedule:1'), true, 'found in the queue: it holds its schedule');
});

test('a run the runtime has nowhere is not found lost before its lease has ended', async () => {
  const { transport, runs, add } = setUp();
  add('just-sent', 2, 500);
  const freed = await runs.refresh(['just-sent'], { leaseMarginMs: 1_000 });
  assert.equal(transport.located, 1, 'it was looked for');
  assert.equal(freed.has('schedule:2'), false, 'its schedule is not freed');
  assert.equal(runs.has('just-sent'), true, 'it is still followed');
});

test('a run whose lease ends later than the margin is not looked for', async () => {
  const { transport, runs, add } = setUp();
  add('early', 3, 30_000);
  await runs.refresh(['early'], { leaseMarginMs: 1_000 });
  assert.equal(transport.located, 0);
});
