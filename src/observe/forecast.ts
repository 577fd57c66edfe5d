/**
 * The next 24 hours: how many fires land in each minute, to spot the herds (the hundred schedules
 * that all fire at 00:00) before they land, with the heaviest minutes named.
 *
 * It runs in the beat process, possibly the leader, so it never holds the event loop for long: it
 * yields every few milliseconds, walks at most a budget of fires (an interval without jitter costs
 * nothing: it is counted on its grid), and a result is reused while the schedules are unchanged.
 */

import type { Database } from '../db/database.ts';
import { calendarsOf } from '../db/sql/calendars.ts';
import { definitionsKey } from '../db/sql/schedules-read.ts';
import { databaseNow, schedulePages } from '../db/store.ts';
import { countFires } from './fire-counts.ts';
import { viewRecord } from './schedule-view.ts';

interface HeavySlot {
  /** The minute, ISO 8601 (UTC). */
  at: string;
  fires: number;
  /** How many schedules fire in it, and the first few of them by name. */
  schedules: number;
  names: string[];
}

export interface Forecast {
  from: string;
  to: string;
  slotMs: number;
  /** Fires per minute from `from`, 1,440 of them. */
  slots: number[];
  total: number;
  heaviest: HeavySlot[];
  /** Schedules counted, and the ones the budget left out (the counts are then a lower bound). */
  counted: number;
  leftOut: number;
  computedAt: string;
}

const SLOT_MS = 60_000;
const SLOTS = 1_440;
const NAMES_PER_SLOT = 5;
const HEAVIEST = 10;
/** Fires walked per schedule, and in all (about 5 µs each for a cron expression). */
const PER_SCHEDULE_CAP = 86_400;
const TOTAL_BUDGET = 2_000_000;
const SLICE_MS = 8;

async function computeForecast(database: Database): Promise<Forecast> {
  const now = await databaseNow(database);
  const from = Math.floor(now / SLOT_MS) * SLOT_MS;
  const slots = new Array<number>(SLOTS).fill(0);
  const names: string[][] = Array.from({ length: SLOTS }, () => []);
  const distinct = new Array<number>(SLOTS).fill(0);
  let budget = TOTAL_BUDGET;
  let counted = 0;
  let leftOut = 0;
  let sliceStart = performance.now();
  for await (const page of schedulePages(database)) {
    const calendars = await calendarsOf(database.db, page);
    for (const record of page) {
      const view = viewRecord(record, now, calendars);
      if (view.state !== 'enabled' || !view.schedule || view.nextFireAt === null) continue;
      if (budget <= 0) {
        leftOut++;
        continue;
      }
      const touched = new Set<number>();
      const result = countFires(
        view.schedule,
        record,
        Math.max(now, view.nextFireAt - 1),
        { from, bucketMs: SLOT_MS, buckets: SLOTS },
        Math.min(PER_SCHEDULE_CAP, budget),
        (slot, n) => {
          slots[slot] = (slots[slot] ?? 0) + n;
          touched.add(slot);
        },
      );
      for (const slot of touched) {
        distinct[slot] = (distinct[slot] ?? 0) + 1;
        const list = names[slot];
        if (list && list.length < NAMES_PER_SLOT) list.push(record.name);
      }
      budget -= result.walked;
      counted++;
      if (performance.now() - sliceStart > SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
  }
  const heaviest = slots
    .map((fires, i) => ({ fires, i }))
    .filter((s) => s.fires > 0)
    .sort((a, b) => b.fires - a.fires || a.i - b.i)
    .slice(0, HEAVIEST)
    .map(({ fires, i }) => ({
      at: new Date(from + i * SLOT_MS).toISOString(),
      fires,
      schedules: distinct[i] ?? 0,
      names: names[i] ?? [],
    }));
  return {
    from: new Date(from).toISOString(),
    to: new Date(from + SLOTS * SLOT_MS).toISOString(),
    slotMs: SLOT_MS,
    slots,
    total: slots.reduce((a, b) => a + b, 0),
    heaviest,
    counted,
    leftOut,
    computedAt: new Date(now).toISOString(),
  };
}

/**
 * A forecast reused while the schedules are unchanged (their count and versions: any edit, pause or
 * resume bumps a version) and for at most `ttlMs`, computed once however many requests ask at once.
 */
export class ForecastCache {
  #value: { at: number; key: string; forecast: Promise<Forecast> } | undefined;

  constructor(
    private readonly database: Database,
    private readonly ttlMs: number,
  ) {}

  async get(): Promise<Forecast> {
    const key = await definitionsKey(this.database);
    const now = Date.now();
    if (!this.#value || this.#value.key !== key || now - this.#value.at > this.ttlMs) {
      const forecast = computeForecast(this.database);
      this.#value = { at: now, key, forecast };
      forecast.catch(() => {
        if (this.#value?.forecast === forecast) this.#value = undefined;
      });
    }
    return this.#value.forecast;
  }
}
