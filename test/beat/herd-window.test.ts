/**
 * The herd window (src/beat/herd-window.ts): when the schedules due in the coming seconds would take
 * longer to claim than the time left before them, their claims begin early enough.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClaimRate } from '../../src/beat/claim-rate.ts';
import { herdClaimUntil } from '../../src/beat/herd-window.ts';

const NOW = 1_000_000; // a whole second, database ms

function window(counts: Record<number, number>, claimsPerSecond = 1_000, now = NOW) {
  return herdClaimUntil({
    now,
    baseMs: 2_000,
    maxMs: 150_000,
    claimsPerSecond,
    countInSecond: (second) => counts[second - NOW / 1000] ?? 0,
  });
}

const steady = (perSecond: number) =>
  Object.fromEntries(Array.from({ length: 60 }, (_, i) => [i, perSecond]));

test('a steady load well within the claim rate needs no early claims; nearer to it, a little', () => {
  assert.equal(window({ 1: 1_000 }), undefined);
  assert.equal(window({}), undefined);
  // Due every second of the next minute (one entry per schedule: its next fire), 1,000 claims a
  // second: up to 500 a second the lookahead covers it; at 700 claims reach 6 s ahead, at 900, 20 s.
  assert.equal(window(steady(300)), undefined);
  assert.equal(window(steady(500)), undefined);
  assert.equal(window(steady(700)), NOW + 5_999);
  assert.equal(window(steady(900)), NOW + 19_999);
});

test('with no lookahead (claims at the instant) nothing is claimed early, herd or not', () => {
  const counts: Record<number, number> = { 1: 5, 30: 100_000 };
  const at = (baseMs: number) =>
    herdClaimUntil({
      now: NOW,
      baseMs,
      maxMs: 150_000,
      claimsPerSecond: 1_000,
      countInSecond: (second) => counts[second - NOW / 1000] ?? 0,
    });
  assert.equal(at(0), undefined);
  assert.equal(at(2_000), NOW + 30_999);
});

test('a herd is claimed from the moment its claims would no longer fit before its instant', () => {
  // 30,000 due in 40 s, at 1,000 claims a second: 30 s of claims, which must start by 30 s before
  // (a second early: the leader looks again within a second), so not yet; 9 s later, they start.
  assert.equal(window({ 40: 30_000 }), undefined);
  assert.equal(window({ 40: 30_000 }, 1_000, NOW + 8_000), undefined);
  assert.equal(window({ 40: 30_000 }, 1_000, NOW + 9_000), NOW + 40_999);
  assert.equal(window({ 30: 30_000 }), NOW + 30_999);
  // Twice the rate: 15 s of claims; at 20 s from the herd not yet, at 16 s it starts.
  assert.equal(window({ 20: 30_000 }, 2_000), undefined);
  assert.equal(window({ 16: 30_000 }, 2_000), NOW + 16_999);
});

test('work due before a herd counts toward its claims; a herd beyond the limit waits', () => {
  // 5,000 at 10 s alone fit (5 s of claims); with 6,000 more due on the way there they do not.
  assert.equal(window({ 10: 5_000 }), undefined);
  assert.equal(window({ 5: 6_000, 10: 5_000 }), NOW + 10_999);
  // Beyond maxMs the herd is not claimed yet (the book holds the horizon only).
  assert.equal(window({ 200: 1_000_000 }), undefined);
});

test('the claim rate is measured on batches large enough to say, and half of it is counted on', () => {
  const rate = new ClaimRate(2_000);
  assert.equal(rate.dependable, 1_000);
  rate.observe(10, 1); // a batch of ten: a round trip, not a rate
  assert.equal(rate.dependable, 1_000);
  for (let i = 0; i < 50; i++) rate.observe(1_000, 100); // 10,000 a second
  assert.ok(Math.abs(rate.dependable - 5_000) < 1, `${rate.dependable}`);
});
