/**
 * Rows with the same spec share one compiled schedule (a million rows hold far fewer specs), and
 * sharing never hands a row the schedule of a different spec: an anchor that is not an instant is
 * not the same as no anchor, a crontab seeded by its name (`H`) is not shared between names.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateRecord } from '../../src/model/index.ts';
import { NO_CALENDARS } from '../../src/model/validate.ts';
import { scheduleRow } from '../support/rows.ts';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const base = scheduleRow();

function compiled(patch: object) {
  const check = validateRecord({ ...base, ...patch }, NOW, NO_CALENDARS);
  assert.ok(check.ok, check.ok ? '' : check.reason);
  return check.schedule;
}

test('the same spec is compiled once; another spec gets its own', () => {
  assert.equal(compiled({ name: 'a' }), compiled({ name: 'b' }));
  assert.notEqual(compiled({ everyMs: 60_000 }), compiled({ everyMs: 120_000 }));
  const anchored = compiled({ anchorAt: new Date(NOW + 1_000) });
  assert.notEqual(anchored, compiled({}));
  assert.equal(anchored.next(NOW), NOW + 1_000);
});

test('an anchor that is not an instant is not taken for no anchor', () => {
  compiled({}); // the spec without an anchor is in the cache
  const check = validateRecord({ ...base, anchorAt: new Date(Number.NaN) }, NOW, NO_CALENDARS);
  assert.equal(check.ok, false);
});

test('a crontab seeded by its name (H) is compiled per name', () => {
  const cron = { kind: 'crontab', everyMs: null, cron: 'H H * * *', timezone: 'UTC' };
  const a = compiled({ ...cron, name: 'seed-a' });
  const b = compiled({ ...cron, name: 'seed-b' });
  assert.notEqual(a, b);
  assert.equal(a, compiled({ ...cron, name: 'seed-a' }));
  const plain = { ...cron, cron: '0 3 * * *' };
  assert.equal(compiled({ ...plain, name: 'x' }), compiled({ ...plain, name: 'y' }));
});
