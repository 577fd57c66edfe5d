/**
 * The reconcile (the backstop for change notifications lost while disconnected) reads only the rows
 * changed since its last look (the change cursor), rows inserted past the highest id the fill has
 * seen, and whether the rows the book holds still exist: an insert, an edit and a removal made while
 * nobody listened are all found, and so is an edit whose transaction was still open at one look and
 * committed after it. The per-state gauge is counted in the database.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BeatMetrics } from '../../src/beat/metrics.ts';
import { ScheduleBook } from '../../src/beat/schedule-book.ts';
import { silentLogger } from '../../src/logger.ts';
import { migratedDatabasePerFile } from '../support/migrated.ts';

const file = migratedDatabasePerFile();

async function add(name: string, everyMs = 60_000): Promise<number> {
  const [row] = await file.db.sql<{ id: string }[]>`
    insert into metronome.schedules (name, task, kind, every_ms, managed_by)
    values (${name}, 'tasks.r', 'interval', ${everyMs}, 'db') returning id`;
  return Number(row!.id);
}

function book(metrics = new BeatMetrics()): ScheduleBook {
  return new ScheduleBook(file.database, metrics, silentLogger, () => Date.now());
}

/** Load, then do every read the loop would (the rest of the horizon, the fill, changed rows). */
async function drain(b: ScheduleBook): Promise<void> {
  for (let turns = 0; b.hasDirty; turns++) {
    assert.ok(turns < 1_000, 'the book kept finding reading to do');
    await b.refreshDirty(Date.now());
  }
}

async function loaded(metrics?: BeatMetrics): Promise<ScheduleBook> {
  const b = book(metrics);
  await b.loadAll(Date.now());
  await drain(b);
  return b;
}

async function stateCounts(metrics: BeatMetrics): Promise<Record<string, number>> {
  const { values } = await metrics.schedules.get();
  return Object.fromEntries(values.map((v) => [String(v.labels.state), v.value]));
}

test('insert, edit and removal made while nobody listened are found by the reconcile', async () => {
  const kept = await add('r-kept');
  const edited = await add('r-edited');
  const removed = await add('r-removed');
  const b = await loaded();
  await b.reconcile();
  assert.equal(b.hasDirty, false, 'nothing changed yet');

  const inserted = await add('r-inserted');
  await file.db.sql`update metronome.schedules set every_ms = 120000 where id = ${edited}`;
  await file.db.sql`delete from metronome.schedules where id = ${removed}`;
  await b.reconcile();
  await drain(b);
  assert.equal(b.entry(inserted)?.record.name, 'r-inserted');
  assert.equal(b.entry(edited)?.record.everyMs, 120_000);
  assert.equal(b.entry(removed), undefined);
  assert.equal(b.entry(kept)?.record.name, 'r-kept');
  await b.reconcile();
  assert.equal(b.hasDirty, false, 'an unchanged table marks nothing');
});

test('an edit committed after a look that began while it was open is found by the next look', async () => {
  const id = await add('r-late');
  const b = await loaded();
  await b.reconcile();
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let updated: () => void = () => {};
  const didUpdate = new Promise<void>((resolve) => {
    updated = resolve;
  });
  const open = file.db.sql.begin(async (tx) => {
    await tx`update metronome.schedules set every_ms = 180000 where id = ${id}`;
    updated();
    await held;
  });
  await didUpdate;
  await b.reconcile(); // the edit is not committed: not visible, and its transaction is open
  assert.equal(b.hasDirty, false);
  release();
  await open;
  await b.reconcile();
  await drain(b);
  assert.equal(b.entry(id)?.record.everyMs, 180_000);
});

test('a row inserted with a hand-written old change_xid is still found (new ids without next_fire_at)', async () => {
  const b = await loaded();
  const [row] = await file.db.sql<{ id: string }[]>`
    insert into metronome.schedules (name, task, kind, every_ms, managed_by, change_xid)
    values ('r-old-xid', 'tasks.r', 'interval', 60000, 'db', 1) returning id`;
  await b.reconcile();
  await drain(b);
  assert.equal(b.entry(Number(row!.id))?.record.name, 'r-old-xid');
});

test('the per-state gauge is counted in the database, not from what the book holds', async () => {
  await file.db.sql`delete from metronome.schedules`;
  const a = await add('g-a');
  const b = await add('g-b');
  await add('g-c');
  const metrics = new BeatMetrics();
  const bk = await loaded(metrics);
  await bk.countStates();
  assert.deepEqual(await stateCounts(metrics), { enabled: 3, paused: 0, disabled: 0, invalid: 0 });
  await file.db.sql`update metronome.schedules set paused_at = now() where id = ${a}`;
  await file.db.sql`update metronome.schedules set enabled = false where id = ${b}`;
  await bk.reconcile();
  assert.deepEqual(await stateCounts(metrics), { enabled: 1, paused: 1, disabled: 1, invalid: 0 });
  await file.db.sql`delete from metronome.schedules where id = ${a}`;
  await bk.reconcile();
  assert.deepEqual(await stateCounts(metrics), { enabled: 1, paused: 0, disabled: 1, invalid: 0 });
});
