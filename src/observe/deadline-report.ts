/**
 * How a schedule kept its deadlines over the last days (the dashboard's "Deadlines" section and
 * `GET /api/v1/schedules/{name}/deadlines`): the share of decided occurrences on time, the count
 * of each outcome, the breaches with their reasons, the alerts raised, and how late runs started
 * (a histogram over fixed buckets, and percentiles).
 */
import type { Database } from '../db/database.ts';
import { alertsOf } from '../db/sql/alerts.ts';
import { judgedOccurrences } from '../db/sql/deadlines.ts';
import { DEADLINE_OUTCOMES, type DeadlineOutcome, formatSpan } from '../model/deadline.ts';
import type { ScheduleRecord } from '../model/schedule.ts';

export const REPORT_DAYS = 7;
/** Occurrences read at most (a schedule every second has 600k in 7 days: the newest are shown). */
const READ_CAP = 50_000;
const BREACHES_SHOWN = 50;

/** Upper bounds of the lateness buckets, ms; the last bucket is everything above. */
export const LATENESS_BUCKETS_MS = [1_000, 5_000, 30_000, 60_000, 300_000, 900_000, 3_600_000] as const;

export interface DeadlineReport {
  startDeadlineMs: number | null;
  finishDeadlineMs: number | null;
  days: number;
  from: string;
  /** Occurrences decided in the window (the newest READ_CAP when there are more). */
  judged: number;
  onTime: number;
  /** onTime / judged, or null when nothing was judged. */
  onTimeShare: number | null;
  outcomes: Record<DeadlineOutcome, number>;
  breaches: Array<{ slot: string; outcome: DeadlineOutcome; reason: string | null }>;
  alerts: Array<{ slot: string; kind: string; reason: string; raisedAt: string; delivery: string }>;
  lateness: {
    /** One per bucket: runs that started at most `upToMs` after their slot (null: above the last). */
    buckets: Array<{ upToMs: number | null; label: string; count: number }>;
    p50Ms: number | null;
    p95Ms: number | null;
    maxMs: number | null;
  };
  complete: boolean;
}

export async function deadlineReport(
  database: Database,
  record: Pick<ScheduleRecord, 'id' | 'name' | 'startDeadlineMs' | 'finishDeadlineMs'>,
  now: number,
  days = REPORT_DAYS,
): Promise<DeadlineReport> {
  const from = now - days * 86_400_000;
  const rows = await judgedOccurrences(database, record.name, from, READ_CAP);
  const outcomes = Object.fromEntries(DEADLINE_OUTCOMES.map((o) => [o, 0])) as Record<
    DeadlineOutcome,
    number
  >;
  for (const r of rows) outcomes[r.outcome]++;
  const lateness = rows
    .map((r) => r.latenessMs)
    .filter((ms): ms is number => ms !== null)
    .map((ms) => Math.max(0, ms))
    .sort((a, b) => a - b);
  const buckets = [...LATENESS_BUCKETS_MS, null].map((upToMs, i) => {
    const lower = i === 0 ? -1 : (LATENESS_BUCKETS_MS[i - 1] as number);
    return {
      upToMs,
      label: upToMs === null ? `> ${formatSpan(lower)}` : `≤ ${formatSpan(upToMs)}`,
      count: lateness.filter((ms) => ms > lower && (upToMs === null || ms <= upToMs)).length,
    };
  });
  const pick = (q: number) =>
    lateness.length === 0
      ? null
      : (lateness[Math.min(lateness.length - 1, Math.floor(q * lateness.length))] as number);
  const alerts = await alertsOf(database, record.name, new Date(from));
  return {
    startDeadlineMs: record.startDeadlineMs,
    finishDeadlineMs: record.finishDeadlineMs,
    days,
    from: new Date(from).toISOString(),
    judged: rows.length,
    onTime: outcomes.on_time,
    onTimeShare: rows.length === 0 ? null : outcomes.on_time / rows.length,
    outcomes,
    breaches: rows
      .filter((r) => r.outcome !== 'on_time')
      .slice(0, BREACHES_SHOWN)
      .map((r) => ({ slot: r.scheduledFor.toISOString(), outcome: r.outcome, reason: r.reason })),
    alerts: alerts.map((a) => ({
      slot: a.scheduledFor.toISOString(),
      kind: a.kind,
      reason: a.reason,
      raisedAt: a.raisedAt.toISOString(),
      delivery: a.delivery,
    })),
    lateness: { buckets, p50Ms: pick(0.5), p95Ms: pick(0.95), maxMs: lateness.at(-1) ?? null },
    complete: rows.length < READ_CAP,
  };
}
