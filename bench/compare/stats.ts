/** Arrival records and what the report says about them: one definition of lag for every scheduler. */

/** One message seen by a consumer: which entry, the instant it was due, when it arrived (epoch ms). */
export interface Arrival {
  entry: string;
  due: number;
  arrival: number;
}

export interface WindowStats {
  /** Distinct (entry, due instant) pairs with the due instant inside the window. */
  delivered: number;
  /** Messages beyond the first for one (entry, due instant), in the window. */
  duplicates: number;
  lagMs: { p50: number; p99: number; max: number; min: number };
  /** Messages due before the window (warm-up) or after it (drain), not counted. */
  outside: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** Lag is arrival minus due instant, over the messages whose due instant is in [from, to). */
export function windowStats(arrivals: Arrival[], from: number, to: number): WindowStats {
  const seen = new Set<string>();
  const lags: number[] = [];
  let duplicates = 0;
  let outside = 0;
  for (const a of arrivals) {
    if (a.due < from || a.due >= to) {
      outside++;
      continue;
    }
    const key = `${a.entry}@${a.due}`;
    if (seen.has(key)) {
      duplicates++;
      continue;
    }
    seen.add(key);
    lags.push(a.arrival - a.due);
  }
  lags.sort((a, b) => a - b);
  return {
    delivered: seen.size,
    duplicates,
    outside,
    lagMs: {
      p50: round1(percentile(lags, 50)),
      p99: round1(percentile(lags, 99)),
      max: round1(lags.at(-1) ?? Number.NaN),
      min: round1(lags[0] ?? Number.NaN),
    },
  };
}

export interface HerdStats {
  /** The herd's instant: the due instant of the first message that arrived. */
  due: number;
  /** Distinct entries delivered for that instant. */
  delivered: number;
  duplicates: number;
  /** Messages due at other instants (an entry's later fire, or one set up after the herd's instant). */
  otherInstants: number;
  /** From the herd's instant to the first, median, 99th percentile and last arrival, in ms. */
  afterDueMs: { first: number; p50: number; p99: number; last: number };
}

/** The herd whose instant is the first arrival's due instant: how long after it its messages arrived. */
export function herdStats(arrivals: Arrival[]): HerdStats | null {
  const due = arrivals[0]?.due;
  if (due === undefined) return null;
  const seen = new Set<string>();
  const offsets: number[] = [];
  let duplicates = 0;
  let otherInstants = 0;
  for (const a of arrivals) {
    if (a.due !== due) {
      otherInstants++;
      continue;
    }
    if (seen.has(a.entry)) {
      duplicates++;
      continue;
    }
    seen.add(a.entry);
    offsets.push(a.arrival - due);
  }
  offsets.sort((a, b) => a - b);
  return {
    due,
    delivered: seen.size,
    duplicates,
    otherInstants,
    afterDueMs: {
      first: offsets[0] ?? Number.NaN,
      p50: percentile(offsets, 50),
      p99: percentile(offsets, 99),
      last: offsets.at(-1) ?? Number.NaN,
    },
  };
}
