/**
 * What one schedule costs the leader's memory, per row, in-process (heap after a full gc): the rows
 * as read, the load's result (validated and compiled), the compiled schedules alone, and the whole
 * schedule book — on an existing database (e.g. one `bench/million.ts --keep` left, or a copy of it
 * cut down with `delete from metronome.schedules where id > 100000`).
 *
 *   node --expose-gc --import tsx bench/book-memory.ts postgres://postgres@127.0.0.1:5432/<db>
 */
import { BeatMetrics } from '../src/beat/metrics.ts';
import { ScheduleBook } from '../src/beat/schedule-book.ts';
import { openDatabase } from '../src/db/database.ts';
import { type LoadResult, loadSchedules, schedulePages } from '../src/db/store.ts';
import { silentLogger } from '../src/logger.ts';

const url = process.argv[2];
const gc = (globalThis as { gc?: () => void }).gc;
if (!url || !gc) throw new Error('usage: node --expose-gc --import tsx bench/book-memory.ts <database url>');
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const database = await openDatabase({ databaseUrl: url, dataDir: '' });
const perRow = (from: number, n: number) => `${((heap() - from) / n).toFixed(0)} B/row`;

// Each step in its own function, so nothing of one step stays reachable from the next.
async function asRead(): Promise<number> {
  const rows: unknown[] = [];
  const h0 = heap();
  const t = performance.now();
  for await (const page of schedulePages(database)) rows.push(...page);
  console.log(
    `${rows.length} rows as read: ${perRow(h0, rows.length)}, ${(performance.now() - t).toFixed(0)} ms`,
  );
  return rows.length;
}

async function loadResult(n: number): Promise<void> {
  const h0 = heap();
  const t = performance.now();
  const result: LoadResult = await loadSchedules(database, { now: Date.now() });
  console.log(
    `load result (validated, compiled): ${perRow(h0, n)}, ${(performance.now() - t).toFixed(0)} ms`,
  );
  const compiled = result.schedules.map((s) => s.schedule);
  result.schedules = [];
  console.log(`compiled schedules alone: ${perRow(h0, n)} (${compiled.length})`);
}

async function wholeBook(n: number): Promise<void> {
  const h0 = heap();
  const t = performance.now();
  const book = new ScheduleBook(database, new BeatMetrics(), silentLogger, () => Date.now());
  await book.loadAll(Date.now());
  console.log(
    `schedule book: ${perRow(h0, n)}, ${(performance.now() - t).toFixed(0)} ms, rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB (${book.dueCount} due)`,
  );
}

const n = await asRead();
await loadResult(n);
await wholeBook(n);
await database.close();
