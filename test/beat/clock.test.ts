/**
 * The leader's clock (src/beat/clock.ts), with injected sources: database time follows the monotonic
 * clock from the last measurement, so a jump of this machine's wall clock moves nothing (an
 * occurrence claimed ahead is not sent early), and a change of the database's clock is picked up
 * at the next measurement. No waiting: every instant is set by the test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DatabaseClock } from '../../src/beat/clock.ts';

function fakeSources(start: { db: number; mono: number }) {
  const s = { db: start.db, mono: start.mono, roundTrip: 4 };
  return {
    state: s,
    sources: {
      monotonic: () => s.mono,
      databaseNow: async () => {
        // The database answers half way through the round trip.
        s.mono += s.roundTrip / 2;
        const answer = s.db + s.roundTrip / 2;
        s.mono += s.roundTrip / 2;
        s.db += s.roundTrip;
        return answer;
      },
    },
  };
}

test('database time follows the monotonic clock from the measurement', async () => {
  const { state, sources } = fakeSources({ db: 1_800_000_000_000, mono: 50 });
  const clock = new DatabaseClock(sources);
  await clock.measure();
  assert.equal(clock.roundTripMs, 4);
  // Three round trips of 4 ms; the answer taken as read at the end of the last: half of one behind.
  assert.equal(clock.now(), state.db - 2);
  state.mono += 1_000;
  assert.equal(clock.now(), 1_800_000_001_010);
});

test("a jump of this machine's wall clock moves nothing", async (t) => {
  const { state, sources } = fakeSources({ db: 1_800_000_000_000, mono: 0 });
  const clock = new DatabaseClock(sources);
  await clock.measure();
  const before = clock.now();
  const realNow = Date.now();
  t.mock.method(Date, 'now', () => realNow + 3_600_000); // an hour forward
  assert.equal(clock.now(), before, 'forward: not an hour ahead (nothing claimed would go early)');
  t.mock.method(Date, 'now', () => realNow - 3_600_000);
  assert.equal(clock.now(), before, 'back: not an hour behind');
  state.mono += 250;
  assert.equal(clock.now(), before + 250);
});

test("a change of the database's clock is picked up at the next measurement", async () => {
  const { state, sources } = fakeSources({ db: 1_800_000_000_000, mono: 0 });
  const clock = new DatabaseClock(sources);
  await clock.measure();
  state.db += 60_000; // the database server's clock was stepped a minute forward
  assert.equal(clock.now(), 1_800_000_000_010, 'unseen until measured');
  await clock.measure();
  assert.equal(clock.now(), 1_800_000_060_022);
});

test('the clock never runs ahead of the database, however the round trip splits', async () => {
  // The request waits (a busy event loop, a slow network) and the database answers at the very end
  // of the round trip: taking the answer as read half way would put the clock ahead by half of it,
  // and an occurrence claimed ahead would go out early.
  const s = { db: 1_800_000_000_000, mono: 0 };
  const clock = new DatabaseClock({
    monotonic: () => s.mono,
    databaseNow: async () => {
      s.mono += 60;
      s.db += 60;
      return s.db;
    },
  });
  await clock.measure();
  assert.ok(clock.now() <= s.db, `${clock.now() - s.db} ms ahead of the database`);
  s.mono += 1_000;
  s.db += 1_000;
  assert.ok(clock.now() <= s.db, `${clock.now() - s.db} ms ahead of the database`);
});
