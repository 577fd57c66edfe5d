/** previewEdit: an edit's fires before and after, and what the runtime would run at once. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crontab, defineSchedule, every } from '../../src/index.ts';
import { parseDeclaration, type ScheduleFields } from '../../src/model/index.ts';
import { NO_CALENDARS } from '../../src/model/validate.ts';
import { type PreviewBefore, previewEdit } from '../../src/observe/preview.ts';

const NOW = Date.parse('2026-10-24T12:00:00Z');

function fields(declaration: Record<string, unknown>): ScheduleFields {
  const result = parseDeclaration(defineSchedule({ name: 'p', task: 't', ...declaration } as never), NOW);
  assert.ok(result.ok, JSON.stringify(result));
  return result.fields;
}

function stored(
  f: ScheduleFields,
  nextFireAt: number | null,
  extra: Partial<PreviewBefore> = {},
): PreviewBefore {
  return {
    fields: f,
    nextFireAt: nextFireAt === null ? null : new Date(nextFireAt),
    totalRuns: 3,
    pausedAt: null,
    invalidReason: null,
    ...extra,
  };
}

test('a DST policy edit: the fires before and after, local and UTC, with the DST marks', () => {
  const before = fields({ schedule: crontab('30 2 * * *', { tz: 'Europe/Berlin' }) });
  const after = fields({
    schedule: crontab('30 2 * * *', { tz: 'Europe/Berlin', dst: { repeated: 'both' } }),
  });
  const p = previewEdit({
    calendars: NO_CALENDARS,
    name: 'p',
    before: stored(before, Date.parse('2026-10-25T00:30:00Z')),
    after,
    now: NOW,
    count: 3,
  });
  assert.equal(p.zone, 'Europe/Berlin');
  assert.deepEqual(
    p.before?.map((f) => [f.utc, f.local]),
    [
      ['2026-10-25T00:30:00.000Z', '2026-10-25 02:30:00 +02:00'],
      ['2026-10-26T01:30:00.000Z', '2026-10-26 02:30:00 +01:00'],
      ['2026-10-27T01:30:00.000Z', '2026-10-27 02:30:00 +01:00'],
    ],
  );
  assert.deepEqual(
    p.after?.map((f) => f.utc),
    ['2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z', '2026-10-26T01:30:00.000Z'],
  );
  assert.match(p.after?.[1]?.dst ?? '', /second pass, runs at both/);
  assert.equal(p.firesChange, true);
  // A timing change restarts the cursor: nothing is caught up.
  assert.deepEqual(p.atOnce.run, []);
  assert.match(p.atOnce.why, /cursor restarts/);
});

test('an edit that keeps the timing keeps a due cursor: the catch-up policy after the edit decides', () => {
  const skip = fields({ schedule: every('1h'), catchup: 'skip' });
  const latest = fields({ schedule: every('1h'), catchup: 'latest' });
  const all = fields({ schedule: every('1h'), catchup: 'all', catchupWindow: '3h' });
  const dueSince = NOW - 5 * 3_600_000; // the beat was down five hours
  const toLatest = previewEdit({
    calendars: NO_CALENDARS,
    name: 'p',
    before: stored(skip, dueSince),
    after: latest,
    now: NOW,
  });
  assert.deepEqual(
    toLatest.atOnce.run.map((f) => f.utc),
    ['2026-10-24T12:00:00.000Z'],
    'latest runs the most recent due slot once',
  );
  assert.equal(toLatest.firesChange, false);
  const toAll = previewEdit({
    calendars: NO_CALENDARS,
    name: 'p',
    before: stored(skip, dueSince),
    after: all,
    now: NOW,
  });
  assert.deepEqual(
    toAll.atOnce.run.map((f) => f.utc),
    [
      '2026-10-24T09:00:00.000Z',
      '2026-10-24T10:00:00.000Z',
      '2026-10-24T11:00:00.000Z',
      '2026-10-24T12:00:00.000Z',
    ],
  );
  assert.equal(toAll.atOnce.missed, 2);
  const toSkip = previewEdit({
    calendars: NO_CALENDARS,
    name: 'p',
    before: stored(latest, dueSince),
    after: skip,
    now: NOW,
  });
  assert.deepEqual(
    toSkip.atOnce.run.map((f) => f.utc),
    ['2026-10-24T12:00:00.000Z'],
    'the on-time slot runs anyway',
  );
  const paused = previewEdit({
    calendars: NO_CALENDARS,
    name: 'p',
    before: stored(skip, dueSince, { pausedAt: new Date(dueSince) }),
    after: latest,
    now: NOW,
  });
  assert.match(paused.atOnce.why, /paused/);
  const pausedUntil = previewEdit({
    calendars: NO_CALENDARS,
    name: 'p',
    before: stored(skip, dueSince, {
      pausedAt: new Date(dueSince),
      pausedUntil: new Date(NOW + 3_600_000),
    }),
    after: latest,
    now: NOW,
  });
  assert.match(
    pausedUntil.atOnce.why,
    /paused until 2026-10-24T13:00:00.000Z: nothing runs until the leader resumes it then/,
  );
  const skipping = previewEdit({
    calendars: NO_CALENDARS,
    name: 'p',
    before: stored(skip, dueSince, { skipCount: 1 }),
    after: latest,
    now: NOW,
  });
  assert.deepEqual(skipping.atOnce.run, [], 'the one run a pending skip takes is not sent');
  assert.match(skipping.atOnce.why, /1 recorded skipped \(an operator's skip\)/);
});

test('an earlier start: the new fires show, and the preview says the slots before now are not caught up', () => {
  const later = fields({ schedule: every('1h'), startAt: '2026-10-30T00:00:00Z' });
  const earlier = fields({ schedule: every('1h'), startAt: '2026-10-20T00:00:00Z' });
  const p = previewEdit({
    calendars: NO_CALENDARS,
    name: 'p',
    before: stored(later, Date.parse('2026-10-30T00:00:00Z')),
    after: earlier,
    now: NOW,
    count: 1,
  });
  assert.deepEqual(
    p.before?.map((f) => f.utc),
    ['2026-10-30T00:00:00.000Z'],
  );
  assert.deepEqual(
    p.after?.map((f) => f.utc),
    ['2026-10-24T13:00:00.000Z'],
  );
  assert.deepEqual(p.atOnce.run, []);
  assert.match(p.atOnce.why, /not even slots an earlier start now covers/);
});

test('create and delete', () => {
  const f = fields({ schedule: every('15m') });
  const created = previewEdit({
    calendars: NO_CALENDARS,
    name: 'p',
    before: null,
    after: f,
    now: NOW,
    count: 2,
  });
  assert.equal(created.before, null);
  assert.deepEqual(
    created.after?.map((x) => x.utc),
    ['2026-10-24T12:15:00.000Z', '2026-10-24T12:30:00.000Z'],
  );
  const deleted = previewEdit({
    calendars: NO_CALENDARS,
    name: 'p',
    before: stored(f, NOW + 900_000),
    after: null,
    now: NOW,
  });
  assert.equal(deleted.after, null);
  assert.match(deleted.atOnce.why, /deleted/);
});
