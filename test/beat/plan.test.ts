/** The catch-up planner: which slots run, which are recorded missed, where the cursor goes. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ALL_CAP, MISSED_ROWS_CAP, type PlanInput, planDue } from '../../src/model/plan.ts';
import { compileSchedule } from '../../src/time/index.ts';

const MIN = 60_000;
const T0 = Date.parse('2026-06-01T12:00:00Z');
const everyMinute = compileSchedule({ kind: 'interval', every: '1m' });
function plan(overrides: Partial<PlanInput>) {
  return planDue({
    name: 'p',
    schedule: everyMinute,
    cursor: T0,
    now: T0 + 100,
    catchup: 'latest',
    catchupWindowMs: 3_600_000,
    jitterMs: 0,
    graceMs: 5_000,
    startAt: null,
    endAt: null,
    runsLeft: Number.POSITIVE_INFINITY,
    catchupBudget: 1_000,
    ...overrides,
  });
}
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

describe('planDue', () => {
  test('on time: the due slot runs and the cursor moves to the next slot', () => {
    const p = plan({});
    assert.deepEqual(
      p.run.map((s) => iso(s.scheduledFor)),
      ['2026-06-01T12:00:00.000Z'],
    );
    assert.equal(p.missed.length, 0);
    assert.equal(iso(p.cursor), '2026-06-01T12:01:00.000Z');
  });

  test('not due yet: nothing', () => {
    const p = plan({ now: T0 - 1 });
    assert.equal(p.run.length + p.missed.length, 0);
    assert.equal(p.cursor, T0);
  });

  test('latest after downtime: one run for the most recent missed slot, the others missed', () => {
    const p = plan({ now: T0 + 10 * MIN + 30_000 });
    assert.deepEqual(
      p.run.map((s) => iso(s.scheduledFor)),
      ['2026-06-01T12:10:00.000Z'],
    );
    assert.equal(p.missed.length, 10);
    assert.ok(p.missed.every((m) => /a later slot ran instead/.test(m.reason)));
    assert.equal(iso(p.cursor), '2026-06-01T12:11:00.000Z');
  });

  test('latest with an on-time slot: the on-time slot runs, every late one is missed', () => {
    const p = plan({ now: T0 + 10 * MIN + 2_000 });
    assert.deepEqual(
      p.run.map((s) => iso(s.scheduledFor)),
      ['2026-06-01T12:10:00.000Z'],
    );
    assert.equal(p.missed.length, 10);
  });

  test('skip: late slots never run', () => {
    const p = plan({ now: T0 + 10 * MIN + 30_000, catchup: 'skip' });
    assert.equal(p.run.length, 0);
    assert.equal(p.missed.length, 11);
    assert.ok(p.missed.every((m) => /policy skip/.test(m.reason)));
  });

  test('all: each missed slot in the window runs, oldest first; older than the window are missed', () => {
    const p = plan({ now: T0 + 10 * MIN + 30_000, catchup: 'all', catchupWindowMs: 5 * MIN + 30_000 });
    assert.deepEqual(
      p.run.map((s) => iso(s.scheduledFor)),
      ['12:05', '12:06', '12:07', '12:08', '12:09', '12:10'].map((t) => `2026-06-01T${t}:00.000Z`),
    );
    assert.equal(p.missed.length, 5);
    assert.ok(p.missed.every((m) => /older than the catch-up window/.test(m.reason)));
  });

  test(`all: at most ${ALL_CAP} per schedule, and the global budget stops the cursor where it ran out`, () => {
    const capped = plan({ now: T0 + 300 * MIN, catchup: 'all', catchupWindowMs: 10 * 3_600_000 });
    // 300 late slots: the most recent 100 run, 200 are missed; the slot due right now is on time.
    assert.equal(capped.run.length, ALL_CAP + 1);
    assert.equal(capped.missed.length, 300 - ALL_CAP);
    const budgeted = plan({ now: T0 + 10 * MIN + 30_000, catchup: 'all', catchupBudget: 3 });
    assert.equal(budgeted.run.length, 3);
    assert.equal(budgeted.catchupRuns, 3);
    assert.equal(iso(budgeted.cursor), '2026-06-01T12:03:00.000Z');
  });

  test('a very long outage records one row per slot up to a cap, then one row for the rest', () => {
    const everySecond = compileSchedule({ kind: 'interval', every: '1s' });
    const p = plan({ schedule: everySecond, now: T0 + 7 * 24 * 3_600_000, catchupWindowMs: 60_000 });
    assert.ok(p.missed.length <= MISSED_ROWS_CAP + 60);
    assert.ok(p.missed.some((m) => /one row for all/.test(m.reason)));
    // The slots of the last 5 s (the grace) are on time and run; everything before is missed.
    assert.equal(p.run.length, 6);
  });

  test('maxRuns, endAt and startAt', () => {
    const max = plan({ now: T0 + 100, runsLeft: 1 });
    assert.equal(max.run.length, 1);
    assert.equal(max.cursor, null);
    const ended = plan({ now: T0 + 100, endAt: T0 - 1 });
    assert.equal(ended.run.length, 0);
    assert.equal(ended.cursor, null);
    const notStarted = plan({ now: T0 + 100, startAt: T0 + 30 * MIN });
    assert.equal(notStarted.run.length, 0);
    assert.equal(iso(notStarted.cursor), '2026-06-01T12:30:00.000Z');
  });

  test('jitter delays the fire instant deterministically, not the slot', () => {
    const a = plan({ now: T0 + 30_000, jitterMs: 20_000 });
    const b = plan({ now: T0 + 30_000, jitterMs: 20_000 });
    assert.deepEqual(a, b);
    const slot = a.run[0];
    assert.ok(slot && slot.scheduledFor === T0 && slot.fireAt >= T0 && slot.fireAt < T0 + 20_000);
  });
});

describe('planDue with an operator skip (beat skip)', () => {
  test('the next run is skipped, not run, and the cursor moves past it as for a run', () => {
    const p = plan({ skipLeft: 2 });
    assert.equal(p.run.length, 0);
    assert.deepEqual(
      p.skipped.map((s) => iso(s.scheduledFor)),
      ['2026-06-01T12:00:00.000Z'],
    );
    assert.equal(iso(p.cursor), '2026-06-01T12:01:00.000Z');
  });

  test('slots claimed ahead: the first ones are skipped, the rest run', () => {
    const p = plan({ claimUntil: T0 + 2 * MIN, skipLeft: 2 });
    assert.deepEqual(
      p.skipped.map((s) => iso(s.scheduledFor)),
      ['2026-06-01T12:00:00.000Z', '2026-06-01T12:01:00.000Z'],
    );
    assert.deepEqual(
      p.run.map((s) => iso(s.scheduledFor)),
      ['2026-06-01T12:02:00.000Z'],
    );
  });

  test('a skipped slot is not a run: maxRuns counts the runs left after it', () => {
    const p = plan({ claimUntil: T0 + 2 * MIN, skipLeft: 1, runsLeft: 1 });
    assert.deepEqual(
      p.skipped.map((s) => iso(s.scheduledFor)),
      ['2026-06-01T12:00:00.000Z'],
    );
    assert.deepEqual(
      p.run.map((s) => iso(s.scheduledFor)),
      ['2026-06-01T12:01:00.000Z'],
    );
    assert.equal(p.cursor, null);
  });

  test('after downtime, the catch-up run is the one skipped; missed slots do not count', () => {
    const p = plan({ now: T0 + 10 * MIN + 30_000, skipLeft: 1 });
    assert.equal(p.run.length, 0);
    assert.deepEqual(
      p.skipped.map((s) => iso(s.scheduledFor)),
      ['2026-06-01T12:10:00.000Z'],
    );
    assert.equal(p.missed.length, 10);
  });
});
