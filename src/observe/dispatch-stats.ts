/**
 * How dispatch is going, from the ledger: lag percentiles over the last hour, the missed, skipped
 * and failed counts over the last hour and day, and what is in flight now. Each query reads an
 * index made for it: the BRIN on scheduled_for, the partial index of problem rows, the partial index
 * of runs in flight (the same statuses, so the planner can use it) (src/db/schema.ts).
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../db/database.ts';
import { PROBLEM_STATUSES } from '../db/schema.ts';

export interface LagStats {
  /** Runs in the sample (at most LAG_SAMPLE of the last hour's scheduled runs). */
  runs: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

type ProblemStatus = (typeof PROBLEM_STATUSES)[number];
export type ProblemCounts = Record<ProblemStatus, number>;

export interface InFlight {
  /** Claimed and not yet sent (a few for a moment is normal; many, or old ones, are trouble). */
  claimed: number;
  enqueued: number;
  running: number;
  /** The oldest claimed occurrence's claim time, when there is one. */
  oldestClaimedAt: string | null;
}

const LAG_SAMPLE = 10_000;

export async function lagLastHour(database: Database): Promise<LagStats> {
  const [row] = await database.rows<{
    n: number | string;
    p50: number | string | null;
    p90: number | string | null;
    p99: number | string | null;
    max: number | string | null;
  }>(sql`
    select count(*) as n,
           percentile_cont(0.5) within group (order by lag) as p50,
           percentile_cont(0.9) within group (order by lag) as p90,
           percentile_cont(0.99) within group (order by lag) as p99,
           max(lag) as max
      from (select greatest(0, extract(epoch from enqueued_at - fire_at) * 1000)::float8 as lag
              from metronome.occurrences
             where scheduled_for > clock_timestamp() - interval '1 hour'
               and enqueued_at is not null and not manual
             limit ${LAG_SAMPLE}) s`);
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
  const statuses = sql.raw(PROBLEM_STATUSES.map((s) => `'${s}'`).join(', '));
  const rows = await database.rows<{
    status: ProblemStatus;
    hour: number | string;
    day: number | string;
  }>(sql`
    select status,
           count(*) filter (where scheduled_for > clock_timestamp() - interval '1 hour') as hour,
           count(*) as day
      from metronome.occurrences
     where scheduled_for > clock_timestamp() - interval '1 day' and status in (${statuses})
     group by status`);
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
  const rows = await database.rows<{ status: string; n: number | string; oldest: Date | string | null }>(sql`
    select status, count(*) as n, min(claimed_at) as oldest from metronome.occurrences
     where status in ('claimed', 'enqueued', 'running') group by status`);
  const out: InFlight = { claimed: 0, enqueued: 0, running: 0, oldestClaimedAt: null };
  for (const r of rows) {
    const key = r.status as 'claimed' | 'enqueued' | 'running';
    out[key] = Number(r.n);
    if (key === 'claimed' && r.oldest) out.oldestClaimedAt = new Date(r.oldest).toISOString();
  }
  return out;
}
