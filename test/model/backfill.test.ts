import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRate, rangeProblem, slotsInRange } from '../../src/model/backfill.ts';
import { compileSchedule } from '../../src/time/index.ts';

const T = Date.parse('2026-03-01T00:00:00Z');
const HOUR = 3_600_000;

test('the slots of a range: inclusive at both ends, within the schedule window, bounded', () => {
  const hourly = compileSchedule({ kind: 'interval', every: HOUR });
  const none = { startAt: null, endAt: null };
  assert.deepEqual(slotsInRange(hourly, none, T, T + 3 * HOUR, 100), [
    T,
    T + HOUR,
    T + 2 * HOUR,
    T + 3 * HOUR,
  ]);
  assert.deepEqual(slotsInRange(hourly, none, T + 1, T + HOUR - 1, 100), []);
  assert.deepEqual(slotsInRange(hourly, none, T, T + 10 * HOUR, 2), [T, T + HOUR]);
  const window = { startAt: new Date(T + HOUR), endAt: new Date(T + 2 * HOUR) };
  assert.deepEqual(slotsInRange(hourly, window, T, T + 5 * HOUR, 100), [T + HOUR, T + 2 * HOUR]);
  // A crontab across the spring-forward gap in Berlin: the engine's own slots, DST policy applied.
  const daily = compileSchedule({ kind: 'crontab', cron: '30 2 * * *', timezone: 'Europe/Berlin' });
  const march = slotsInRange(
    daily,
    none,
    Date.parse('2026-03-28T00:00:00Z'),
    Date.parse('2026-03-30T23:00:00Z'),
    10,
  );
  assert.deepEqual(
    march.map((t) => new Date(t).toISOString()),
    ['2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z'],
  );
});

test('a range: ordered, in the past; each problem names the flag', () => {
  assert.equal(rangeProblem(T, T + HOUR, T + 2 * HOUR), null);
  assert.match(rangeProblem(T + HOUR, T, T + 2 * HOUR) ?? '', /--from .* is after --to .*; swap them/);
  assert.match(rangeProblem(T, T + 3 * HOUR, T + 2 * HOUR) ?? '', /--to .* is in the future/);
});

test('rates: N/s, N/m, a bare number; bounded', () => {
  assert.equal(parseRate('5/s'), 5);
  assert.equal(parseRate('30/m'), 0.5);
  assert.equal(parseRate('30/min'), 0.5);
  assert.equal(parseRate('2'), 2);
  assert.throws(() => parseRate('0/s'), /--rate "0\/s" is not a rate/);
  assert.throws(() => parseRate('fast'), /use N\/s or N\/m/);
  assert.throws(() => parseRate('500/s'), /at most 100\/s/);
});
