/**
 * The book holds only what is near (schedule-book.ts): it reads firing rows a page at a time in
 * (next_fire_at, id) order, overdue ones first, up to its horizon; a page boundary inside a run of
 * equal next_fire_at skips nothing; rows beyond the horizon are not held, and come in as the
 * horizon reaches them; rows inserted without next_fire_at get it filled in the background.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BeatMetrics } from '../../src/beat/metrics.ts';
import { type BookOptions, ScheduleBook } from '../../src/beat/schedule-book.ts';
import { silentLogger } from '../../src/logger.ts';
import { migratedDatabasePerFile } from '../support/migrated.ts';

const file = migratedDatabasePerFile();

/** A weekly interval row with a stored next_fire_at `inSql` (an SQL expression) from now. */
async function addAt(name: string, inSql: string): Promise<number> {
  const [row] = await file.db.sql<{ id: string }[]>`
    insert into metronome.schedules (name, task, kind, every_ms, anchor_at, managed_by, next_fire_at)
    values (${name}, 'tasks.h', 'interval', 604800000, now() + (${inSql})::interval, 'db',
            now() + (${inSql})::interval) returning id`;
  return Number(row!.id);
}

/** A book over a clock the test moves. */
function book(options: BookOptions, clock = { now: Date.now() }): ScheduleBook {
  return new ScheduleBook(file.database, new BeatMetrics(), silentLogger, () => clock.now, options);
}

async function drain(b: ScheduleBook, now: number): Promise<number> {
  let turns = 0;
  for (; b.hasDirty; turns++) {
    assert.ok(turns < 1_000, 'the book kept finding reading to do');
    await b.refreshDirty(now);
  }
  return turns;
}

test('a page boundary inside a run of equal next_fire_at skips nothing, and beyond the horizon is not held', async () => {
  await file.db.sql`delete from metronome.schedules`;
  const same: number[] = [];
  // Ten rows at one instant with sub-millisecond digits, across pages of three.
  for (let i = 0; i < 10; i++) same.push(await addAt(`same-${i}`, '10.0004 seconds'));
  const early = await addAt('early', '2 seconds');
  const far = await addAt('far', '2 hours');
  const clock = { now: Date.now() };
  const b = book({ horizonMs: 60_000, pageSize: 3 }, clock);
  const first = await b.loadAll(clock.now);
  assert.equal(first.schedules, 3, 'the start reads one page');
  assert.equal(first.complete, false);
  assert.ok(b.entry(early), 'the earliest row is in the first page');
  await drain(b, clock.now);
  for (const id of same) assert.ok(b.entry(id), `row ${id} at the shared instant is held`);
  assert.equal(b.size, 11);
  assert.equal(b.entry(far), undefined, 'a row beyond the horizon is not held');

  // Two hours later, the horizon has reached it (the earlier rows are still there: not claimed).
  clock.now += 2 * 3_600_000;
  await drain(b, clock.now);
  assert.ok(b.entry(far), 'the horizon reached the far row');
});

test('a backlog after downtime larger than a page is read most overdue first, all of it', async () => {
  await file.db.sql`delete from metronome.schedules`;
  const ids: number[] = [];
  for (let i = 0; i < 25; i++) ids.push(await addAt(`late-${i}`, `-${60 - i} minutes`));
  const now = Date.now();
  const b = book({ horizonMs: 60_000, pageSize: 10 }, { now });
  await b.loadAll(now);
  assert.deepEqual(b.due(now, 100).sort(), ids.slice(0, 10).sort(), 'the first page: the ten most overdue');
  await drain(b, now);
  assert.deepEqual(b.due(now, 100).sort(), [...ids].sort(), 'the whole backlog is due');
});

test('rows inserted without next_fire_at get it in the background; near ones are held', async () => {
  await file.db.sql`delete from metronome.schedules`;
  await file.db.sql`
    insert into metronome.schedules (name, task, kind, every_ms, managed_by)
    select 'cold-' || i, 'tasks.h', 'interval', case when i % 2 = 0 then 10000 else 86400000 end, 'db'
      from generate_series(1, 300) i`;
  const now = Date.now();
  const b = book({ horizonMs: 60_000, fillPageSize: 40 }, { now });
  await b.loadAll(now);
  assert.ok(b.size <= 20, `the start fills one page at most (${b.size} held)`);
  const turns = await drain(b, now);
  assert.ok(turns >= 260 / 40, `the fill went on a page at a time (${turns} turns)`);
  const [left] = await file.db.sql<{ n: string }[]>`
    select count(*) as n from metronome.schedules where next_fire_at is null`;
  assert.equal(Number(left!.n), 0, 'every row has its next_fire_at');
  assert.equal(b.size, 150, 'the every-10-s rows are held, the daily ones are not');
});

test('an edit moves a schedule into the book, and one out of it', async () => {
  await file.db.sql`delete from metronome.schedules`;
  const id = await addAt('mover', '3 hours');
  const now = Date.now();
  const b = book({ horizonMs: 60_000 }, { now });
  await b.loadAll(now);
  await drain(b, now);
  assert.equal(b.entry(id), undefined);
  const [edited] = await file.db.sql<{ version: string }[]>`
    update metronome.schedules set every_ms = 5000, anchor_at = null where id = ${id} returning version`;
  b.onChange(JSON.stringify({ id, op: 'UPDATE', version: Number(edited!.version) }));
  await drain(b, Date.now());
  assert.ok(b.entry(id), 'moved into the horizon: held');
  const [again] = await file.db.sql<{ version: string }[]>`
    update metronome.schedules set every_ms = 604800000, anchor_at = now() + interval '2 days'
     where id = ${id} returning version`;
  b.onChange(JSON.stringify({ id, op: 'UPDATE', version: Number(again!.version) }));
  await drain(b, Date.now());
  assert.equal(b.entry(id), undefined, 'moved out of the horizon: dropped');
  assert.equal(b.due(Date.now() + 60_000, 10).length, 0);
});

test('rows without next_fire_at are filled even while something is always due', async () => {
  await file.db.sql`delete from metronome.schedules`;
  // Overdue and never claimed here: the book always has something due, as a leader that is behind.
  const overdue = await addAt('always-due', '-1 minute');
  const [cold] = await file.db.sql<{ id: string }[]>`
    insert into metronome.schedules (name, task, kind, every_ms, managed_by)
    values ('cold-at-start', 'tasks.h', 'interval', 5000, 'db') returning id`;
  const b = book({ horizonMs: 60_000 });
  await b.loadAll(Date.now());
  assert.ok(b.due(Date.now(), 10).includes(overdue));
  assert.ok(b.entry(Number(cold!.id)), 'filled by the start’s page, before the first tick');

  // One inserted later, its notification lost: the reconcile finds it, and the fill gets its turn.
  const [late] = await file.db.sql<{ id: string }[]>`
    insert into metronome.schedules (name, task, kind, every_ms, managed_by)
    values ('cold-later', 'tasks.h', 'interval', 5000, 'db') returning id`;
  await b.reconcile();
  const deadline = Date.now() + 10_000;
  while (!b.entry(Number(late!.id))) {
    assert.ok(Date.now() < deadline, 'the fill never ran while something was due');
    if (b.hasDirty) await b.refreshDirty(Date.now());
    else await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(b.due(Date.now(), 10).includes(overdue), 'the overdue row is still there to tick');
});
