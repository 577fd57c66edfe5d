/** Fire counts per bucket (the 24-hour view and the timeline): arithmetic and walking agree (pure). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BucketRange, countFires, type FireWindow } from '../../src/observe/fire-counts.ts';
import { compileSchedule } from '../../src/time/index.ts';

const window = (over: Partial<FireWindow>): FireWindow => ({
  name: 'x',
  kind: 'interval',
  everyMs: null,
  anchorAt: null,
  jitterMs: 0,
  startAt: null,
  endAt: null,
  maxRuns: null,
  totalRuns: 0,
  ...over,
});

const FROM = Date.parse('2026-03-28T00:00:00Z');
const DAY: BucketRange = { from: FROM, bucketMs: 60_000, buckets: 1_440 };

function counts(spec: Parameters<typeof compileSchedule>[0], w: FireWindow, range = DAY, cap = 1e6) {
  const out = new Array<number>(range.buckets).fill(0);
  const result = countFires(
    compileSchedule(spec, { name: w.name }),
    w,
    range.from - 1,
    range,
    cap,
    (i, n) => {
      out[i] = (out[i] ?? 0) + n;
    },
  );
  return { out, ...result };
}

test('an interval is counted on its grid, the same as walking it fire by fire', () => {
  for (const everyMs of [1_000, 7_000, 45_000, 60_000, 90_000, 3_600_000]) {
    const anchorAt = new Date(FROM + 13_000);
    const grid = counts(
      { kind: 'interval', every: everyMs, anchor: anchorAt },
      window({ everyMs, anchorAt }),
    );
    // maxRuns makes countFires walk; a maxRuns beyond the day changes nothing else.
    const walked = counts(
      { kind: 'interval', every: everyMs, anchor: anchorAt },
      window({ everyMs, anchorAt, maxRuns: 1e9 }),
    );
    assert.deepEqual(grid.out, walked.out, `every ${everyMs} ms`);
    assert.equal(grid.fires, walked.fires);
    assert.ok(Math.abs(grid.fires - 86_400_000 / everyMs) <= 1, `every ${everyMs} ms: one fire per period`);
    assert.equal(grid.walked, 1_440, 'arithmetic: one step per bucket, whatever the frequency');
  }
});

test('the window bounds the counts: start_at, end_at (inclusive), max runs left', () => {
  const startAt = new Date(FROM + 3_600_000);
  const endAt = new Date(FROM + 7_200_000);
  const grid = counts({ kind: 'interval', every: 60_000 }, window({ everyMs: 60_000, startAt, endAt }));
  assert.equal(grid.fires, 61);
  assert.equal(grid.out[59], 0);
  assert.equal(grid.out[60], 1);
  assert.equal(grid.out[120], 1);
  assert.equal(grid.out[121], 0);
  const limited = counts(
    { kind: 'interval', every: 60_000 },
    window({ everyMs: 60_000, maxRuns: 10, totalRuns: 7 }),
  );
  assert.equal(limited.fires, 3);
});

test('a herd of one crontab lands in one minute; jitter spreads it deterministically', () => {
  const herd = counts(
    { kind: 'crontab', cron: '0 3 * * *', timezone: 'UTC' },
    window({ kind: 'crontab', name: 'h1' }),
  );
  assert.equal(herd.out[180], 1);
  assert.equal(herd.fires, 1);
  const spread = new Set<number>();
  for (let i = 0; i < 50; i++) {
    const r = counts(
      { kind: 'crontab', cron: '0 3 * * *', timezone: 'UTC' },
      window({ kind: 'crontab', name: `h${i}`, jitterMs: 600_000 }),
    );
    assert.equal(r.fires, 1);
    spread.add(r.out.findIndex((n) => n > 0));
  }
  assert.ok(spread.size > 5, `50 jittered schedules land in ${spread.size} minutes`);
  assert.ok([...spread].every((m) => m >= 180 && m < 190));
});

test('a walk stops at its cap and says so', () => {
  const r = counts(
    { kind: 'crontab', cron: '* * * * * *', timezone: 'UTC' },
    window({ kind: 'crontab' }),
    DAY,
    1_000,
  );
  assert.equal(r.complete, false);
  assert.equal(r.fires, 1_000);
  const full = counts({ kind: 'crontab', cron: '* * * * * *', timezone: 'UTC' }, window({ kind: 'crontab' }));
  assert.equal(full.complete, true);
  assert.equal(full.fires, 86_400);
  assert.ok(full.out.every((n) => n === 60));
});
