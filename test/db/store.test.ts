import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { loadSchedules, refreshSchedules, type StoreOptions } from '../../src/db/store.ts';
import { createLogger } from '../../src/logger.ts';
import { migratedDatabasePerFile } from '../support/migrated.ts';
import { one } from '../support/pg.ts';

// A person bypassed the shape checks (restored a dump without them, say): the loader still copes.
const file = migratedDatabasePerFile(
  (db) => db.sql`alter table metronome.schedules drop constraint kwargs_is_object`,
);

/** Re-read one schedule as the runtime does (in a batch, here of one); null when the row is gone. */
async function refreshSchedule(id: number, options: StoreOptions = {}) {
  return (await refreshSchedules(file.database, [id], options)).get(id) ?? null;
}

function captureLog() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: createLogger({ level: 'info', destination }), lines };
}

test('invalid rows are quarantined with a message naming the column; everything else loads', async () => {
  await file.db.sql`
    insert into metronome.schedules (name, task, kind, cron, cron_fields, timezone, every_ms, kwargs) values
      ('good.cron',    't', 'crontab',  '*/5 * * * *', null, 'Europe/Berlin', null, '{}'),
      ('good.every',   't', 'interval', null, null, null, 60000, '{}'),
      ('bad.zone',     't', 'crontab',  '0 3 * * *', null, 'Mars/Olympus', null, '{}'),
      ('bad.never',    't', 'crontab',  '0 0 30 2 *', null, 'UTC', null, '{}'),
      ('bad.celery',   't', 'crontab',  null, '{"minute": 99}', 'UTC', null, '{}'),
      ('bad.kwargs',   't', 'interval', null, null, null, 60000, '[1, 2]')`;
  const { log, lines } = captureLog();
  const result = await loadSchedules(file.database, { log });
  assert.deepEqual(result.schedules.map((s) => s.record.name).sort(), ['good.cron', 'good.every']);
  const reasons = Object.fromEntries(result.invalid.map((i) => [i.record.name, i.reason]));
  assert.match(reasons['bad.zone']!, /^column timezone: .*Mars\/Olympus/);
  assert.match(reasons['bad.never']!, /^column cron: .*never/);
  assert.match(reasons['bad.celery']!, /^column cron_fields\.minute: .*99/);
  assert.match(reasons['bad.kwargs']!, /^column kwargs: .*not a JSON object/);
  // Stored, so list/show and other processes see it.
  const stored = await file.db
    .sql`select name, invalid_reason from metronome.schedules where invalid_reason is not null order by name`;
  assert.deepEqual(
    stored.map((r) => r.name),
    ['bad.celery', 'bad.kwargs', 'bad.never', 'bad.zone'],
  );
  // Logged, one line per schedule, naming it.
  const warned = lines.filter((l) => l.level === 40 && typeof l.schedule === 'string').map((l) => l.schedule);
  assert.deepEqual(warned.sort(), ['bad.celery', 'bad.kwargs', 'bad.never', 'bad.zone']);
  // next_fire_at filled in for rows inserted by SQL without one.
  for (const s of result.schedules) assert.ok(s.nextFireAt !== null && s.state === 'enabled');

  // A second load does not rewrite unchanged verdicts (no version churn, no notification storm).
  const { v } = one(await file.db.sql`select sum(version)::int as v from metronome.schedules`);
  await loadSchedules(file.database);
  const { v: v2 } = one(await file.db.sql`select sum(version)::int as v from metronome.schedules`);
  assert.equal(v2, v);
});

test('fixing a row clears invalid_reason and computes its next fire', async () => {
  const { id } = one(await file.db.sql`select id from metronome.schedules where name = 'bad.zone'`);
  await file.db.sql`update metronome.schedules set timezone = 'Europe/Berlin' where id = ${id}`;
  const refreshed = await refreshSchedule(Number(id), {
    now: Date.parse('2026-11-21T00:00:00Z'),
  });
  assert.ok(refreshed && !('reason' in refreshed), JSON.stringify(refreshed));
  assert.equal(refreshed.state, 'enabled');
  assert.equal(new Date(refreshed.nextFireAt!).toISOString(), '2026-11-21T02:00:00.000Z');
  const [row] = await file.db
    .sql`select invalid_reason, next_fire_at from metronome.schedules where id = ${id}`;
  assert.equal(row!.invalid_reason, null);
  assert.equal(row!.next_fire_at.toISOString(), '2026-11-21T02:00:00.000Z');
});

test('refreshSchedules: a row broken by an edit is quarantined; a deleted row gives null', async () => {
  const { id } = one(await file.db.sql`select id from metronome.schedules where name = 'good.every'`);
  await file.db.sql`update metronome.schedules set kwargs = '"oops"' where id = ${id}`;
  const broken = await refreshSchedule(Number(id));
  assert.ok(broken && 'reason' in broken);
  assert.match(broken.reason, /column kwargs/);
  await file.db.sql`delete from metronome.schedules where id = ${id}`;
  assert.equal(await refreshSchedule(Number(id)), null);
});

test('paused and disabled schedules load with their state; the runtime fires only enabled ones', async () => {
  await file.db
    .sql`update metronome.schedules set paused_at = now(), paused_reason = 'incident' where name = 'good.cron'`;
  await file.db.sql`
    insert into metronome.schedules (name, task, kind, every_ms, enabled) values ('off', 't', 'interval', 60000, false)`;
  const { schedules } = await loadSchedules(file.database);
  const states = Object.fromEntries(schedules.map((s) => [s.record.name, s.state]));
  assert.equal(states['good.cron'], 'paused');
  assert.equal(states.off, 'disabled');
  assert.equal(states['bad.zone'], 'enabled');
});

test('logger redacts passwords inside URLs in messages and errors', () => {
  const { log, lines } = captureLog();
  log.error(
    { err: new Error('connect to postgres://app:hunter2@db:5432/x failed') },
    'cannot reach postgres://app:hunter2@db:5432/x',
  );
  const text = JSON.stringify(lines);
  assert.doesNotMatch(text, /hunter2/);
  assert.match(text, /postgres:\/\/app:\*\*\*@db:5432\/x/);
});
