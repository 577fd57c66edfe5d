/** The occurrence lifecycle (src/db/lifecycle.ts): the one table every status write goes through. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FINISHED_STATUSES, mayFollow, transition } from '../../src/db/lifecycle.ts';
import { OCCURRENCE_STATUSES } from '../../src/db/schema.ts';

test('nothing follows a finished status, and every status but the unused `paused` can be reached', () => {
  for (const status of OCCURRENCE_STATUSES) {
    for (const from of mayFollow(status))
      assert.ok(!FINISHED_STATUSES.has(from), `${from} is finished, yet ${status} may follow it`);
    if (status !== 'paused' && status !== 'claimed')
      assert.ok(mayFollow(status).length > 0, `${status} follows nothing`);
  }
});

test('a write that would go backwards or out of a finished status is refused', () => {
  assert.deepEqual(transition('enqueued', ['claimed', 'buffered']), ['claimed', 'buffered']);
  assert.deepEqual(transition('running'), ['enqueued']);
  assert.throws(() => transition('claimed', ['enqueued']), /no occurrence status step enqueued → claimed/);
  assert.throws(() => transition('running', ['succeeded']), /succeeded → running/);
  assert.throws(() => transition('missed', ['enqueued']), /enqueued → missed/);
  assert.throws(() => transition('enqueued', []), /\(none\) → enqueued/);
  // An operator's skip takes back only a claim never sent: once enqueued, it ran.
  assert.deepEqual(transition('skipped'), ['claimed']);
  assert.throws(() => transition('skipped', ['enqueued']), /enqueued → skipped/);
  assert.ok(FINISHED_STATUSES.has('skipped'));
});
