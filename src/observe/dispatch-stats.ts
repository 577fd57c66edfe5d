/**
 * How dispatch is going, from the ledger: lag percentiles over the last hour, the missed, skipped
 * and failed counts over the last hour and day, and what is in flight now. Each query reads an
 * index made for it: the BRIN on scheduled_for, the partial index of problem rows, the partial index
 * of runs in flight (the same statuses, so the planner can use it) (src/db/schema.ts).
 */
import type { Database } from '../db/database.ts';
import { PROBLEM_STATUSES } from '../db/schema.ts';
import {
  inFlightRows,
  lagLastHourRow,
  type ProblemStatus,
  problemCountRows,
} from '../db/sql/occurrences-read.ts';

export interface LagStats {
  /** Runs in the sample (a sample of the last hour's scheduled runs: lagLastHourRow). */
  runs: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export type ProblemCounts = Record<ProblemStatus, number>;

export interface InFlight {
  /** Claimed and not yet sent (a few for a moment is normal; many, or old ones, are trouble). */
  claimed: number;
  enqueued: number;
  running: number;
  /** The oldest claimed occurrence's claim time, when there is one. */
  oldestClaimedAt: string | null;
}

export async function lagLastHour(database: Database): Promise<LagStats> {
  const row = await lagLastHourRow(database);
  const num = (v: number | string | null | undefined) => (v === null || v === undefined ? null : Number(v));
  return {
    runs: Number(row?.n ?? 0),
    p50Ms: num(row?.p50),
    p90Ms: num(row?.p90),
    p99Ms: num(row?.p99),
    maxMs: num(row?.max),
  };
}

export async function problemCounts(
  database: Database,
): Promise<{ hour: ProblemCounts; day: ProblemCounts }> {
  const rows = await problemCountRows(database);
  const zero = () => Object.fromEntries(PROBLEM_STATUSES.map((s) => [s, 0])) as ProblemCounts;
  const hour = zero();
  const day = zero();
  for (const r of rows) {
    hour[r.status] = Number(r.hour);
    day[r.status] = Number(r.day);
  }
  return { hour, day };
}

export async function inFlight(database: Database): Promise<InFlight> {
  const rows = await inFlightRows(database);
  const out: InFlight = { claimed: 0, enqueued: 0, running: 0, oldestClaimedAt: null };
  for (const r of rows) {
    const key = r.status as 'claimed' | 'enqueued' | 'running';
    out[key] = Number(r.n);
    if (key === 'claimed' && r.oldest) out.oldestClaimedAt = new Date(r.oldest).toISOString();
  }
  return out;
}
